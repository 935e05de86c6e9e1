//! EXPOSE port specifications: `80`, `80/tcp`, `53/udp`, `8000-8010/sctp`.

use super::error::InstructionErrorKind;
use super::types::{PortSpec, Protocol};

/// Parses one EXPOSE word (after expansion).
pub fn parse_port_spec(spec: &str) -> Result<PortSpec, InstructionErrorKind> {
    let fail = |reason: &str| InstructionErrorKind::InvalidPort {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let (ports, protocol) = match spec.split_once('/') {
        Some((ports, proto)) => (ports, proto),
        None => (spec, "tcp"),
    };
    let protocol = match protocol.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => return Err(fail("unknown protocol (want tcp, udp or sctp)")),
    };
    let port = |text: &str| -> Result<u16, InstructionErrorKind> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("port must be a number"));
        }
        text.parse::<u16>().map_err(|_| fail("port out of range"))
    };
    let (start, end) = match ports.split_once('-') {
        Some((start, end)) => (port(start)?, port(end)?),
        None => {
            let p = port(ports)?;
            (p, p)
        }
    };
    if end < start {
        return Err(fail("range end is before its start"));
    }
    Ok(PortSpec {
        start,
        end,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs() {
        assert_eq!(
            parse_port_spec("80").unwrap(),
            PortSpec {
                start: 80,
                end: 80,
                protocol: Protocol::Tcp
            }
        );
        assert_eq!(
            parse_port_spec("8000-8010/UDP").unwrap(),
            PortSpec {
                start: 8000,
                end: 8010,
                protocol: Protocol::Udp
            }
        );
        assert_eq!(
            parse_port_spec("5000/sctp").unwrap().protocol,
            Protocol::Sctp
        );
        for bad in ["", "http", "70000", "80/icmp", "90-80", "-1", "80-"] {
            assert!(parse_port_spec(bad).is_err(), "{bad}");
        }
    }
}
