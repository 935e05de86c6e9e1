//! IPv4 subnets in CIDR form, parsed once at the edge.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid IPv4 subnet {text:?}: expected ADDRESS/PREFIX with PREFIX 0-32")]
pub struct SubnetParseError {
    pub text: String,
}

/// An IPv4 network `address/prefix_len` with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet {
    network: Ipv4Addr,
    prefix_len: u8,
}

impl Subnet {
    /// Builds a subnet, clearing any host bits of `address`.
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        (prefix_len <= 32).then(|| Self {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix_len)),
            prefix_len,
        })
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix_len))
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix_len) == u32::from(self.network)
    }

    /// Whether every address of `other` lies in `self`.
    pub fn covers(&self, other: &Subnet) -> bool {
        other.prefix_len >= self.prefix_len && self.contains(other.network)
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.covers(other) || other.covers(self)
    }

    /// The first usable host address (network + 1), as Docker picks for a default gateway.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network).saturating_add(1))
    }
}

fn mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n => u32::MAX << (32 - u32::from(n.min(32))),
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl FromStr for Subnet {
    type Err = SubnetParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || SubnetParseError {
            text: text.to_string(),
        };
        let (address, prefix) = text.split_once('/').ok_or_else(err)?;
        let address: Ipv4Addr = address.parse().map_err(|_| err())?;
        let prefix: u8 = prefix.parse().map_err(|_| err())?;
        Self::new(address, prefix).ok_or_else(err)
    }
}

impl TryFrom<String> for Subnet {
    type Error = SubnetParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Subnet> for String {
    fn from(subnet: Subnet) -> Self {
        subnet.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let s: Subnet = "172.30.1.77/24".parse().unwrap();
        assert_eq!(s.to_string(), "172.30.1.0/24");
        assert_eq!(s.broadcast(), Ipv4Addr::new(172, 30, 1, 255));
        assert_eq!(s.first_host(), Ipv4Addr::new(172, 30, 1, 1));
        assert!(s.contains(Ipv4Addr::new(172, 30, 1, 200)));
        assert!(!s.contains(Ipv4Addr::new(172, 30, 2, 1)));
        let half: Subnet = "172.30.1.128/25".parse().unwrap();
        assert!(s.covers(&half) && !half.covers(&s) && half.overlaps(&s));
        assert_eq!(
            "0.0.0.0/0".parse::<Subnet>().unwrap().broadcast(),
            Ipv4Addr::BROADCAST
        );
        for bad in ["172.30.1.0", "172.30.1.0/33", "x/24", "1.2.3.4/-1", ""] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }
}
