//! IPv6 subnets in CIDR form (`docker network create --ipv6 --subnet fd00:…/64`).

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid IPv6 subnet {text:?}: expected ADDRESS/PREFIX with PREFIX 0-128")]
pub struct Subnet6ParseError {
    pub text: String,
}

/// An IPv6 network `address/prefix_len` with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet6 {
    network: Ipv6Addr,
    prefix_len: u8,
}

fn mask(prefix_len: u8) -> u128 {
    match prefix_len {
        0 => 0,
        n => u128::MAX << (128 - u32::from(n.min(128))),
    }
}

impl Subnet6 {
    pub fn new(address: Ipv6Addr, prefix_len: u8) -> Option<Self> {
        (prefix_len <= 128).then(|| Self {
            network: Ipv6Addr::from(u128::from(address) & mask(prefix_len)),
            prefix_len,
        })
    }

    pub fn network(&self) -> Ipv6Addr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    pub fn contains(&self, address: Ipv6Addr) -> bool {
        u128::from(address) & mask(self.prefix_len) == u128::from(self.network)
    }

    /// How many host bits the subnet has.
    pub fn host_bits(&self) -> u32 {
        128 - u32::from(self.prefix_len)
    }

    /// The address `offset` after the network address, if it is inside the subnet.
    pub fn host(&self, offset: u128) -> Option<Ipv6Addr> {
        if self.host_bits() < 128 && offset >> self.host_bits() != 0 {
            return None;
        }
        Some(Ipv6Addr::from(u128::from(self.network) | offset))
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        let shorter = self.prefix_len.min(other.prefix_len);
        u128::from(self.network) & mask(shorter) == u128::from(other.network) & mask(shorter)
    }
}

impl fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl FromStr for Subnet6 {
    type Err = Subnet6ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || Subnet6ParseError {
            text: text.to_string(),
        };
        let (address, prefix) = text.split_once('/').ok_or_else(err)?;
        let address: Ipv6Addr = address.parse().map_err(|_| err())?;
        let prefix: u8 = prefix.parse().map_err(|_| err())?;
        Self::new(address, prefix).ok_or_else(err)
    }
}

impl TryFrom<String> for Subnet6 {
    type Error = Subnet6ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Subnet6> for String {
    fn from(subnet: Subnet6) -> Self {
        subnet.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_normalises_and_places_hosts() {
        let s: Subnet6 = "fd00:6:1::77/64".parse().unwrap();
        assert_eq!(s.to_string(), "fd00:6:1::/64");
        assert_eq!(s.host(1).unwrap().to_string(), "fd00:6:1::1");
        assert_eq!(s.host(0x1_0002).unwrap().to_string(), "fd00:6:1::1:2");
        assert!(s.contains("fd00:6:1::abcd".parse().unwrap()));
        assert!(!s.contains("fd00:6:2::1".parse().unwrap()));
        let small: Subnet6 = "fd00::/120".parse().unwrap();
        assert!(small.host(255).is_some() && small.host(256).is_none());
        let inner: Subnet6 = "fd00:6:1:0:8000::/65".parse().unwrap();
        assert!(s.overlaps(&inner) && inner.overlaps(&s));
        assert!(!s.overlaps(&"fd00:6:2::/64".parse().unwrap()));
        for bad in ["fd00::", "fd00::/129", "10.0.0.0/8", "x/64"] {
            assert!(bad.parse::<Subnet6>().is_err(), "{bad}");
        }
    }
}
