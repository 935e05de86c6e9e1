//! What Berth has installed in its nftables table, saved to disk so that teardown after a crash
//! is complete (the idea of netavark's `firewall/state.rs`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::{Subnet, Subnet6};

/// A bridge network as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRule {
    pub bridge: String,
    pub subnet: Subnet,
    /// `--internal`: no masquerade, nothing forwarded in or out of the bridge.
    pub internal: bool,
    /// The IPv6 side of a dual-stack network (`--ipv6 --subnet fd00:…/64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Net>,
}

/// A network's IPv6 subnet and the bridge's address in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6Net {
    pub subnet: Subnet6,
    pub gateway: Ipv6Addr,
}

impl Ipv6Net {
    /// A container's IPv6 address: the same offset in the IPv6 subnet as its IPv4 address
    /// has in `subnet` (so IPv4 IPAM decides both, and no second pool has to be kept).
    pub fn address_for(&self, subnet: &Subnet, address: Ipv4Addr) -> Option<Ipv6Addr> {
        let offset = u32::from(address).checked_sub(u32::from(subnet.network()))?;
        self.subnet
            .host(u128::from(offset))
            .filter(|a| *a != self.gateway)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// One published port range: `[host_ip:]host_port[-end]:container_port[-end]/protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The network (key of [`FirewallState::networks`]) the container is reached on.
    pub network: String,
    pub protocol: Protocol,
    /// `None` publishes on every local address (Docker's `0.0.0.0`).
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    /// How many consecutive ports the range spans (1 for a single port).
    pub count: u16,
}

impl PortMapping {
    fn host_ports(&self) -> std::ops::RangeInclusive<u32> {
        let start = u32::from(self.host_port);
        start..=start + u32::from(self.count.max(1)) - 1
    }

    /// Whether both would claim the same host port: same protocol, overlapping ports, and
    /// the same host address or either on all addresses.
    pub fn clashes_with(&self, other: &PortMapping) -> bool {
        let (a, b) = (self.host_ports(), other.host_ports());
        self.protocol == other.protocol
            && a.start() <= b.end()
            && b.start() <= a.end()
            && (self.host_ip.is_none() || other.host_ip.is_none() || self.host_ip == other.host_ip)
    }
}

/// Everything that determines the contents of Berth's table, plus host settings we changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallState {
    /// Table this state was installed into.
    pub table: String,
    pub networks: BTreeMap<String, NetworkRule>,
    /// Published ports by owner (a container id).
    pub ports: BTreeMap<String, Vec<PortMapping>>,
    /// We switched `net.ipv4.ip_forward` from 0 to 1 (Docker never switches it back; neither
    /// do we, but the record tells an operator who did it).
    pub enabled_ip_forward: bool,
    /// Bridges on which we set `route_localnet=1` (for DNAT from 127.0.0.1).
    pub route_localnet: Vec<String>,
    /// We switched `net.ipv6.conf.all.forwarding` from 0 to 1 (for an IPv6 network).
    #[serde(default)]
    pub enabled_ipv6_forward: bool,
}
