//! The daemon-facing composition of the pieces: a bridge network is an IPAM pool + a bridge +
//! firewall rules + DNS records; a container endpoint is an address + a veth pair + names.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::Subnet;
use crate::dns::DnsRecords;
use crate::firewall::{Firewall, FirewallConfig, FirewallError, Ipv6Net, NetworkRule};
use crate::ipam::{Ipam, IpamError, Pool, PoolConfig};
use crate::link::{self, ContainerLink, ContainerLink6, LinkError, NetnsHandle};

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {network:?}: {source}")]
    Ipam { network: String, source: IpamError },
    #[error("network {network:?}: {source}")]
    Link { network: String, source: LinkError },
    #[error("network {network:?}: {source}")]
    Firewall {
        network: String,
        source: FirewallError,
    },
    #[error("network {network:?} still has endpoints: {containers:?}")]
    InUse {
        network: String,
        containers: Vec<String>,
    },
    #[error("no network {network:?}")]
    Unknown { network: String },
    #[error("network {network:?}: its IPv6 subnet has no address matching {address}")]
    NoIpv6Address { network: String, address: Ipv4Addr },
    #[error("open IPAM state: {0}")]
    OpenIpam(#[source] IpamError),
    #[error("open firewall state: {0}")]
    OpenFirewall(#[source] FirewallError),
    #[error("restore firewall table: {0}")]
    RestoreFirewall(#[source] FirewallError),
    #[error("removing network {network:?} left failures: {}", .failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Teardown {
        network: String,
        failures: Vec<NetworkError>,
    },
}

/// `docker network create` parameters for a bridge network.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    pub name: String,
    /// Host bridge name (≤ 15 bytes), e.g. `br-<id prefix>`.
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Subnet>,
    pub internal: bool,
    /// Dual stack: the IPv6 subnet and the bridge's address in it.
    pub ipv6: Option<Ipv6Net>,
}

/// One container joining one network.
#[derive(Debug)]
pub struct EndpointSpec<'a> {
    /// Owner recorded in IPAM (the container id).
    pub container: &'a str,
    pub netns: &'a NetnsHandle,
    /// Host-side veth name, unique on the host (≤ 15 bytes).
    pub host_ifname: &'a str,
    /// Name inside the container (`eth0`, `eth1`, …).
    pub ifname: &'a str,
    /// An explicit `--ip`.
    pub requested_ip: Option<Ipv4Addr>,
    /// Container name and aliases, resolvable by the network's other containers.
    pub names: &'a [String],
    /// An explicit `--mac-address`; otherwise Docker's `02:42` + IPv4 address.
    pub mac: Option<[u8; 6]>,
    /// Whether this endpoint's gateway becomes the namespace's default route: only one
    /// endpoint can have it (a second one would be refused by the kernel).
    pub default_route: bool,
}

/// What the container got; the engine stores it to undo the endpoint later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub network: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// `None` on internal networks (no default route).
    pub gateway: Option<Ipv4Addr>,
    pub mac: [u8; 6],
    pub host_ifname: String,
    pub names: Vec<String>,
    /// The IPv6 address on a dual-stack network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Endpoint6>,
}

/// An endpoint's IPv6 side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint6 {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    /// `None` on internal networks.
    pub gateway: Option<Ipv6Addr>,
}

/// All bridge networks of one daemon: IPAM and firewall state live under `state_dir`.
#[derive(Debug)]
pub struct Networks {
    ipam: Ipam,
    firewall: Firewall,
    dns: DnsRecords,
}

impl Networks {
    /// Opens (or starts) state in `state_dir`, with Berth's nftables table named `table`.
    pub fn open(state_dir: &Path, table: &str) -> Result<Self, NetworkError> {
        let ipam = Ipam::open(state_dir.join("ipam.json")).map_err(NetworkError::OpenIpam)?;
        let mut config = FirewallConfig::new(state_dir);
        config.table = table.to_string();
        let firewall = Firewall::open(config).map_err(NetworkError::OpenFirewall)?;
        Ok(Self {
            ipam,
            firewall,
            dns: DnsRecords::new(),
        })
    }

    /// The shared records every embedded resolver reads.
    pub fn dns_records(&self) -> &DnsRecords {
        &self.dns
    }

    pub fn firewall(&mut self) -> &mut Firewall {
        &mut self.firewall
    }

    pub fn pool(&self, network: &str) -> Option<&Pool> {
        self.ipam.pool(network)
    }

    /// Creates the pool, the bridge (with the gateway address) and the firewall rules; on a
    /// failure the steps already done are undone.
    pub fn create(&mut self, spec: &NetworkSpec) -> Result<Pool, NetworkError> {
        let network = spec.name.clone();
        let config = PoolConfig {
            subnet: spec.subnet,
            gateway: spec.gateway,
            ip_range: spec.ip_range,
        };
        let pool = self
            .ipam
            .add_network(&network, &config)
            .map_err(|source| NetworkError::Ipam {
                network: network.clone(),
                source,
            })?
            .clone();
        let bridge = link::ensure_bridge(&spec.bridge, pool.gateway, spec.subnet.prefix_len())
            .map_err(|source| NetworkError::Link {
                network: network.clone(),
                source,
            });
        let bridge = bridge.and_then(|()| match spec.ipv6 {
            Some(v6) => link::ensure_bridge_ipv6(&spec.bridge, v6.gateway, v6.subnet.prefix_len())
                .map_err(|source| NetworkError::Link {
                    network: network.clone(),
                    source,
                }),
            None => Ok(()),
        });
        let rule = NetworkRule {
            bridge: spec.bridge.clone(),
            subnet: spec.subnet,
            internal: spec.internal,
            ipv6: spec.ipv6,
        };
        let firewall = bridge.and_then(|()| {
            self.firewall
                .add_network(&network, rule)
                .map_err(|source| NetworkError::Firewall {
                    network: network.clone(),
                    source,
                })
        });
        if let Err(error) = firewall {
            let _ = self.firewall.remove_network(&network);
            let _ = link::delete_bridge(&spec.bridge);
            let _ = self.ipam.remove_network(&network);
            return Err(error);
        }
        Ok(pool)
    }

    /// Brings the kernel back in line with saved state after a daemon or host restart:
    /// every known network's bridge (with its gateway address) and the firewall table.
    /// DNS records are not persisted: the engine re-adds names of running containers.
    pub fn restore(&mut self) -> Result<(), NetworkError> {
        let networks: Vec<(String, NetworkRule)> = self
            .firewall
            .state()
            .networks
            .iter()
            .map(|(name, rule)| (name.clone(), rule.clone()))
            .collect();
        for (network, rule) in &networks {
            let Some(pool) = self.ipam.pool(network) else {
                continue;
            };
            let link_error = |source| NetworkError::Link {
                network: network.clone(),
                source,
            };
            link::ensure_bridge(&rule.bridge, pool.gateway, pool.subnet.prefix_len())
                .map_err(link_error)?;
            if let Some(v6) = rule.ipv6 {
                link::ensure_bridge_ipv6(&rule.bridge, v6.gateway, v6.subnet.prefix_len())
                    .map_err(link_error)?;
            }
        }
        self.firewall
            .reapply()
            .map_err(NetworkError::RestoreFirewall)
    }

    /// Removes firewall rules, bridge, pool and names (refused while containers are
    /// connected, like Docker); keeps going past failures.
    pub fn remove(&mut self, network: &str) -> Result<(), NetworkError> {
        let Some(rule) = self.firewall.state().networks.get(network).cloned() else {
            return Err(NetworkError::Unknown {
                network: network.to_string(),
            });
        };
        if let Some(pool) = self.ipam.pool(network)
            && !pool.allocated.is_empty()
        {
            return Err(NetworkError::InUse {
                network: network.to_string(),
                containers: pool.allocated.values().cloned().collect(),
            });
        }
        let mut failures = Vec::new();
        if let Err(source) = self.firewall.remove_network(network) {
            failures.push(NetworkError::Firewall {
                network: network.to_string(),
                source,
            });
        }
        if let Err(source) = link::delete_bridge(&rule.bridge) {
            failures.push(NetworkError::Link {
                network: network.to_string(),
                source,
            });
        }
        if let Err(source) = self.ipam.remove_network(network) {
            failures.push(NetworkError::Ipam {
                network: network.to_string(),
                source,
            });
        }
        self.dns.remove_network(network);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(NetworkError::Teardown {
                network: network.to_string(),
                failures,
            })
        }
    }

    /// Allocates an address, plugs the container in and publishes its names.
    pub fn connect(
        &mut self,
        network: &str,
        spec: &EndpointSpec<'_>,
    ) -> Result<Endpoint, NetworkError> {
        let (internal, ipv6) = match self.firewall.state().networks.get(network) {
            Some(rule) => (rule.internal, rule.ipv6),
            None => {
                return Err(NetworkError::Unknown {
                    network: network.to_string(),
                });
            }
        };
        let bridge = self.firewall.state().networks[network].bridge.clone();
        let ipam_error = |source| NetworkError::Ipam {
            network: network.to_string(),
            source,
        };
        let address = self
            .ipam
            .allocate(network, spec.container, spec.requested_ip)
            .map_err(ipam_error)?;
        let pool = self
            .ipam
            .pool(network)
            .cloned()
            .ok_or(NetworkError::Unknown {
                network: network.to_string(),
            })?;
        let gateway = (!internal).then_some(pool.gateway);
        let endpoint6 = match ipv6 {
            Some(v6) => match v6.address_for(&pool.subnet, address) {
                Some(address6) => Some(Endpoint6 {
                    address: address6,
                    prefix_len: v6.subnet.prefix_len(),
                    gateway: (!internal).then_some(v6.gateway),
                }),
                None => {
                    let _ = self.ipam.release(network, address);
                    return Err(NetworkError::NoIpv6Address {
                        network: network.to_string(),
                        address,
                    });
                }
            },
            None => None,
        };
        let mac = spec.mac.unwrap_or_else(|| link::mac_from_ipv4(address));
        let attached = link::attach_container(&ContainerLink {
            bridge: &bridge,
            host_ifname: spec.host_ifname,
            container_ifname: spec.ifname,
            netns: spec.netns,
            address,
            prefix_len: pool.subnet.prefix_len(),
            gateway: gateway.filter(|_| spec.default_route),
            mac: Some(mac),
            ipv6: endpoint6.map(|e| ContainerLink6 {
                address: e.address,
                prefix_len: e.prefix_len,
                gateway: e.gateway.filter(|_| spec.default_route),
            }),
        });
        if let Err(source) = attached {
            let _ = self.ipam.release(network, address);
            return Err(NetworkError::Link {
                network: network.to_string(),
                source,
            });
        }
        for name in spec.names {
            self.dns.add(network, name, address);
            if let Some(v6) = endpoint6 {
                self.dns.add(network, name, v6.address);
            }
        }
        Ok(Endpoint {
            network: network.to_string(),
            address,
            prefix_len: pool.subnet.prefix_len(),
            gateway,
            mac,
            host_ifname: spec.host_ifname.to_string(),
            names: spec.names.to_vec(),
            ipv6: endpoint6,
        })
    }

    /// Undoes [`Networks::connect`]: names, veth pair, address. Idempotent.
    pub fn disconnect(&mut self, endpoint: &Endpoint) -> Result<(), NetworkError> {
        let unplugged =
            link::detach_container(&endpoint.host_ifname).map_err(|source| NetworkError::Link {
                network: endpoint.network.clone(),
                source,
            });
        unplugged.map(drop).and(self.release(endpoint))
    }

    /// [`Networks::disconnect`] without deleting the veth pair: for an endpoint whose
    /// namespace is gone, so the kernel drops the pair (see [`link::reap_later`]).
    pub fn release(&mut self, endpoint: &Endpoint) -> Result<(), NetworkError> {
        self.dns.remove_address(&endpoint.network, endpoint.address);
        if let Some(v6) = endpoint.ipv6 {
            self.dns.remove_address(&endpoint.network, v6.address);
        }
        match self.ipam.release(&endpoint.network, endpoint.address) {
            Ok(_) | Err(IpamError::UnknownNetwork { .. }) => Ok(()),
            Err(source) => Err(NetworkError::Ipam {
                network: endpoint.network.clone(),
                source,
            }),
        }
    }
}
