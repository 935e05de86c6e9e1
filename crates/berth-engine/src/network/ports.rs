//! `-p`/`-P`: Docker's `PortBindings`, `PublishAllPorts` and `ExposedPorts` become firewall port
//! mappings; empty host ports get a free one; a host port in use is a clear error.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use berth_net::firewall::{PortMapping, Protocol};
use bollard_stubs::models::{PortBinding, PortMap};

use super::NetError;

/// `80/tcp` or `8000-8010/udp` (protocol defaults to tcp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortKey {
    pub start: u16,
    pub count: u16,
    pub protocol: Protocol,
}

fn invalid(spec: &str, why: &str) -> NetError {
    NetError::InvalidPort {
        spec: spec.to_string(),
        why: why.to_string(),
    }
}

/// `8000` or `8000-8010` → (start, count).
fn parse_range(text: &str, spec: &str) -> Result<(u16, u16), NetError> {
    let number = |t: &str| {
        t.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid(spec, "ports are numbers from 1 to 65535"))
    };
    match text.split_once('-') {
        None => Ok((number(text)?, 1)),
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b)?);
            if b < a {
                return Err(invalid(spec, "range ends before it starts"));
            }
            Ok((a, b - a + 1))
        }
    }
}

impl PortKey {
    pub fn parse(spec: &str) -> Result<PortKey, NetError> {
        let (ports, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
        let protocol = match protocol.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => return Err(invalid(spec, "protocol must be tcp or udp")),
        };
        let (start, count) = parse_range(ports, spec)?;
        Ok(PortKey {
            start,
            count,
            protocol,
        })
    }
}

/// Whether `port` can be taken on the host: not published by a container (`published`) and
/// no local socket bound there.
fn host_port_free(
    protocol: Protocol,
    host_ip: Option<Ipv4Addr>,
    port: u16,
    published: &dyn Fn(Protocol, u16) -> bool,
) -> bool {
    if published(protocol, port) {
        return false;
    }
    let address = SocketAddr::from((host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port));
    match protocol {
        Protocol::Tcp => TcpListener::bind(address).is_ok(),
        Protocol::Udp => UdpSocket::bind(address).is_ok(),
    }
}

/// A free port from the kernel's ephemeral range (what Docker's port allocator hands out).
fn random_port(
    protocol: Protocol,
    host_ip: Option<Ipv4Addr>,
    published: &dyn Fn(Protocol, u16) -> bool,
) -> Option<u16> {
    let address = SocketAddr::from((host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), 0));
    for _ in 0..64 {
        let port = match protocol {
            Protocol::Tcp => TcpListener::bind(address).and_then(|l| l.local_addr()),
            Protocol::Udp => UdpSocket::bind(address).and_then(|s| s.local_addr()),
        }
        .ok()?
        .port();
        if !published(protocol, port) {
            return Some(port);
        }
    }
    None
}

/// Where the container is reached.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub network: &'a str,
    pub container_ip: Ipv4Addr,
    pub container: &'a str,
}

/// Turns the request into mappings. `published(protocol, port)` tells host ports other
/// containers already hold.
pub fn mappings(
    bindings: Option<&PortMap>,
    publish_all: bool,
    exposed: &[String],
    target: Target<'_>,
    published: &dyn Fn(Protocol, u16) -> bool,
) -> Result<Vec<PortMapping>, NetError> {
    let mut requested: Vec<(String, PortBinding)> = Vec::new();
    let empty = HashMap::new();
    let bindings = bindings.unwrap_or(&empty);
    let mut keys: Vec<&String> = bindings.keys().collect();
    keys.sort();
    for key in keys {
        for binding in bindings[key].iter().flatten() {
            requested.push((key.clone(), binding.clone()));
        }
    }
    if publish_all {
        for port in exposed {
            let key = PortKey::parse(port)?;
            let already = requested
                .iter()
                .any(|(k, _)| PortKey::parse(k).is_ok_and(|other| other == key));
            if !already {
                requested.push((port.clone(), PortBinding::default()));
            }
        }
    }
    let mut out: Vec<PortMapping> = Vec::new();
    for (key, binding) in requested {
        let port = PortKey::parse(&key)?;
        let spec = format!(
            "{}:{}:{key}",
            binding.host_ip.as_deref().unwrap_or(""),
            binding.host_port.as_deref().unwrap_or("")
        );
        let host_ip = match binding.host_ip.as_deref().unwrap_or("") {
            "" | "0.0.0.0" => None,
            // IPv6 bindings are Docker's dual-stack twins of the IPv4 ones: skipped.
            ip if ip.contains(':') => continue,
            ip => Some(
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| invalid(&spec, "host IP is not an IPv4 address"))?,
            ),
        };
        let taken = |protocol: Protocol, p: u16| {
            published(protocol, p)
                || out.iter().any(|m| {
                    let start = u32::from(m.host_port);
                    m.protocol == protocol
                        && (start..start + u32::from(m.count)).contains(&u32::from(p))
                })
        };
        let host_text = binding.host_port.as_deref().unwrap_or("").trim();
        let (host_port, count) = if host_text.is_empty() {
            if port.count != 1 {
                return Err(invalid(&spec, "a container port range needs host ports"));
            }
            let chosen = random_port(port.protocol, host_ip, &taken)
                .ok_or_else(|| invalid(&spec, "no free host port left in the ephemeral range"))?;
            (chosen, 1)
        } else {
            let (start, count) = parse_range(host_text, &spec)?;
            if count == port.count {
                for p in start..=start + (count - 1) {
                    if !host_port_free(port.protocol, host_ip, p, &taken) {
                        return Err(allocated(target.container, host_ip, p));
                    }
                }
                (start, count)
            } else if port.count == 1 {
                // A host range for one container port: the first free port in it.
                let free = (start..=start + (count - 1))
                    .find(|p| host_port_free(port.protocol, host_ip, *p, &taken))
                    .ok_or_else(|| allocated(target.container, host_ip, start))?;
                (free, 1)
            } else {
                return Err(invalid(&spec, "host and container ranges differ in length"));
            }
        };
        out.push(PortMapping {
            network: target.network.to_string(),
            protocol: port.protocol,
            host_ip,
            host_port,
            container_ip: target.container_ip,
            container_port: port.start,
            count,
        });
    }
    Ok(out)
}

fn allocated(container: &str, host_ip: Option<Ipv4Addr>, port: u16) -> NetError {
    NetError::PortAllocated {
        container: container.to_string(),
        address: host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
        port,
    }
}

/// `NetworkSettings.Ports`: every exposed port, with its host bindings if published.
pub fn port_map(exposed: &[String], mappings: &[PortMapping]) -> PortMap {
    let mut map: PortMap = HashMap::new();
    for port in exposed {
        if let Ok(key) = PortKey::parse(port) {
            for i in 0..key.count {
                map.entry(format!("{}/{}", key.start + i, key.protocol.as_str()))
                    .or_insert(None);
            }
        }
    }
    for m in mappings {
        for i in 0..m.count {
            let key = format!("{}/{}", m.container_port + i, m.protocol.as_str());
            let binding = PortBinding {
                host_ip: Some(m.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string()),
                host_port: Some((m.host_port + i).to_string()),
            };
            map.entry(key)
                .or_insert(None)
                .get_or_insert_with(Vec::new)
                .push(binding);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target<'static> {
        Target {
            network: "n",
            container_ip: Ipv4Addr::new(10, 0, 0, 2),
            container: "c",
        }
    }

    #[test]
    fn parses_keys_and_refuses_bad_ones() {
        let key = PortKey::parse("8000-8002/udp").unwrap();
        assert_eq!(
            (key.start, key.count, key.protocol),
            (8000, 3, Protocol::Udp)
        );
        assert_eq!(PortKey::parse("80").unwrap().protocol, Protocol::Tcp);
        for bad in ["0/tcp", "80/sctp", "x", "90-80", "70000"] {
            assert!(PortKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_ports_for_empty_host_ports_and_publish_all() {
        let mut bindings: PortMap = HashMap::new();
        bindings.insert("80/tcp".into(), Some(vec![PortBinding::default()]));
        let exposed = vec!["80/tcp".to_string(), "53/udp".to_string()];
        let out = mappings(Some(&bindings), true, &exposed, target(), &|_, _| false).unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|m| m.host_port != 0 && m.count == 1));
        let map = port_map(&exposed, &out);
        assert!(map["80/tcp"].as_ref().is_some_and(|b| b.len() == 1));
        assert!(map["53/udp"].is_some());
    }

    #[test]
    fn a_port_held_by_a_host_socket_or_a_container_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut bindings: PortMap = HashMap::new();
        bindings.insert(
            "80/tcp".into(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(port.to_string()),
            }]),
        );
        let error = mappings(Some(&bindings), false, &[], target(), &|_, _| false).unwrap_err();
        assert!(
            error.to_string().contains("port is already allocated"),
            "{error}"
        );
        drop(listener);
        let error = mappings(Some(&bindings), false, &[], target(), &|_, p| p == port).unwrap_err();
        assert!(matches!(error, NetError::PortAllocated { .. }), "{error}");
        assert_eq!(
            mappings(Some(&bindings), false, &[], target(), &|_, _| false).unwrap()[0].host_port,
            port
        );
    }
}
