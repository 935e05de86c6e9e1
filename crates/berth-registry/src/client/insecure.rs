//! dockerd's `--insecure-registry` entries: `host[:port]` names and CIDR ranges. A registry is
//! insecure when its name is listed or one of its addresses lies in a listed range; loopback
//! (`127.0.0.0/8`, `::1/128`) always is. Insecure registries are spoken to over HTTPS without
//! certificate verification first, plain HTTP if that fails (see `transport`).

use std::net::IpAddr;

/// Ranges every daemon treats as insecure, as dockerd reports them in `docker info`.
pub const ALWAYS_INSECURE_CIDRS: [&str; 2] = ["::1/128", "127.0.0.0/8"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InsecureRegistryError {
    #[error("insecure registry {entry:?} should not contain '://'")]
    HasScheme { entry: String },
    #[error("insecure registry {entry:?}: {reason}")]
    BadEntry { entry: String, reason: &'static str },
}

/// An address range `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `fd00::/8`; `None` when `text` is not a CIDR (a host name, a bare IP).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The network part of a `bits`-bit address `value`.
fn masked(value: u128, prefix: u8, bits: u32) -> u128 {
    let host_bits = bits - u32::from(prefix);
    if host_bits >= 128 {
        0
    } else {
        value >> host_bits
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parsed `--insecure-registry` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsecureRegistries {
    /// `host` or `host:port` entries (`Secure: false` in `IndexConfigs`).
    pub names: Vec<String>,
    /// Ranges, the always-insecure loopback ones included.
    pub cidrs: Vec<Cidr>,
}

impl InsecureRegistries {
    /// Checks entries the way dockerd does at start-up: no scheme, CIDRs well-formed, names
    /// without paths or spaces.
    pub fn parse(entries: &[String]) -> Result<InsecureRegistries, InsecureRegistryError> {
        let mut parsed = InsecureRegistries::lenient(&[]);
        for entry in entries {
            let entry = entry.trim();
            if entry.contains("://") {
                return Err(InsecureRegistryError::HasScheme {
                    entry: entry.to_owned(),
                });
            }
            let bad = |reason| InsecureRegistryError::BadEntry {
                entry: entry.to_owned(),
                reason,
            };
            if entry.is_empty() {
                return Err(bad("empty entry"));
            }
            if entry.contains('/') {
                let cidr = Cidr::parse(entry).ok_or_else(|| bad("not a valid CIDR range"))?;
                if !parsed.cidrs.contains(&cidr) {
                    parsed.cidrs.push(cidr);
                }
                continue;
            }
            if entry.chars().any(|c| c.is_whitespace() || c == '@') {
                return Err(bad("not a host[:port] or CIDR"));
            }
            if !parsed.names.iter().any(|n| n == entry) {
                parsed.names.push(entry.to_owned());
            }
        }
        Ok(parsed)
    }

    /// As [`parse`](Self::parse), but an entry it would refuse is kept as a name (a client
    /// cannot refuse to start; the daemon checked its flags already).
    pub fn lenient(entries: &[String]) -> InsecureRegistries {
        let mut cidrs: Vec<Cidr> = ALWAYS_INSECURE_CIDRS
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .collect();
        let mut names = Vec::new();
        for entry in entries.iter().map(|e| e.trim()) {
            match Cidr::parse(entry) {
                Some(cidr) if !cidrs.contains(&cidr) => cidrs.push(cidr),
                Some(_) => {}
                None => names.push(entry.to_owned()),
            }
        }
        InsecureRegistries { names, cidrs }
    }

    /// Whether `domain` (`host` or `host:port`) is listed by name: exactly, as dockerd looks
    /// up its `IndexConfigs` (`plain.lan` does not cover `plain.lan:8443`; a CIDR entry covers
    /// every port of the addresses in it).
    pub fn lists_name(&self, domain: &str) -> bool {
        self.names.iter().any(|n| n == domain)
    }

    /// Whether `ip` lies in a listed range.
    pub fn covers(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains(ip))
    }

    /// The ranges as `docker info` lists them.
    pub fn cidr_strings(&self) -> Vec<String> {
        self.cidrs.iter().map(Cidr::to_string).collect()
    }
}

/// The host part of `host`, `host:port`, `[v6]:port`.
pub(crate) fn host_of(domain: &str) -> &str {
    if let Some(rest) = domain.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match domain.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_match_their_range_only() {
        let c = Cidr::parse("10.213.0.0/16").unwrap();
        assert!(c.contains(ip("10.213.7.1")));
        assert!(!c.contains(ip("10.214.0.1")));
        assert!(!c.contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.1.2.3/32").unwrap().contains(ip("10.1.2.3")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("reg.lan"), None);
    }

    #[test]
    fn entries_split_into_names_and_ranges() {
        let parsed = InsecureRegistries::parse(&[
            "reg.lan:5000".into(),
            "10.213.0.0/16".into(),
            "plain.lan".into(),
        ])
        .unwrap();
        assert_eq!(parsed.names, ["reg.lan:5000", "plain.lan"]);
        assert_eq!(
            parsed.cidr_strings(),
            ["::1/128", "127.0.0.0/8", "10.213.0.0/16"]
        );
        assert!(parsed.lists_name("reg.lan:5000"));
        assert!(!parsed.lists_name("reg.lan:5001"));
        assert!(parsed.lists_name("plain.lan"));
        assert!(
            !parsed.lists_name("plain.lan:8443"),
            "dockerd matches the port too"
        );
        assert!(parsed.covers(ip("127.3.4.5")));
        assert!(parsed.covers(ip("10.213.9.1")));
        assert!(!parsed.covers(ip("192.168.1.1")));
    }

    #[test]
    fn bad_entries_are_refused() {
        let err = |e: &str| InsecureRegistries::parse(&[e.to_owned()]).unwrap_err();
        assert!(matches!(
            err("http://reg.lan"),
            InsecureRegistryError::HasScheme { .. }
        ));
        assert!(matches!(
            err("10.0.0.0/99"),
            InsecureRegistryError::BadEntry { .. }
        ));
        assert!(matches!(err(""), InsecureRegistryError::BadEntry { .. }));
        assert!(matches!(
            err("reg.lan/path"),
            InsecureRegistryError::BadEntry { .. }
        ));
    }
}
