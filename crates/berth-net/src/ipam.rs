//! IP address management: per-network subnet, gateway and optional allocation range, with
//! allocations persisted atomically to one JSON file so they survive daemon restarts.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Subnet;
use crate::persist::{self, PersistError};

#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("network {network:?}: gateway {gateway} is not inside subnet {subnet}")]
    GatewayOutsideSubnet {
        network: String,
        gateway: Ipv4Addr,
        subnet: Subnet,
    },
    #[error("network {network:?}: ip range {range} is not inside subnet {subnet}")]
    RangeOutsideSubnet {
        network: String,
        range: Subnet,
        subnet: Subnet,
    },
    #[error("network {network:?}: subnet {subnet} has no room for hosts")]
    SubnetTooSmall { network: String, subnet: Subnet },
    #[error("network {network:?} already exists")]
    NetworkExists { network: String },
    #[error("network {network:?}: subnet {subnet} overlaps network {other:?} ({other_subnet})")]
    Overlap {
        network: String,
        subnet: Subnet,
        other: String,
        other_subnet: Subnet,
    },
    #[error("no network {network:?} in IPAM")]
    UnknownNetwork { network: String },
    #[error("network {network:?}: no free address left in {range}")]
    Exhausted { network: String, range: Subnet },
    #[error("network {network:?}: address {address} is already in use by {owner:?}")]
    AddressInUse {
        network: String,
        address: Ipv4Addr,
        owner: String,
    },
    #[error("network {network:?}: address {address} is not assignable in {subnet}")]
    AddressNotAssignable {
        network: String,
        address: Ipv4Addr,
        subnet: Subnet,
    },
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// What a network asks of IPAM, as given by `docker network create --subnet --gateway --ip-range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolConfig {
    pub subnet: Subnet,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Subnet>,
}

/// One network's pool and its current allocations (address → owner, e.g. a container id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub ip_range: Subnet,
    pub allocated: BTreeMap<Ipv4Addr, String>,
}

impl Pool {
    fn is_assignable(&self, address: Ipv4Addr) -> bool {
        self.subnet.contains(address)
            && address != self.gateway
            && (self.subnet.prefix_len() >= 31
                || (address != self.subnet.network() && address != self.subnet.broadcast()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    networks: BTreeMap<String, Pool>,
}

/// The allocator; every change is written to disk before it returns.
#[derive(Debug)]
pub struct Ipam {
    path: PathBuf,
    state: State,
}

impl Ipam {
    /// Loads the state file, or starts empty if it does not exist yet.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IpamError> {
        let path = path.as_ref().to_path_buf();
        let state = persist::load_json(&path)?.unwrap_or_default();
        Ok(Self { path, state })
    }

    pub fn pool(&self, network: &str) -> Option<&Pool> {
        self.state.networks.get(network)
    }

    /// Registers a network's pool; the gateway defaults to the subnet's first host.
    pub fn add_network(&mut self, network: &str, config: &PoolConfig) -> Result<&Pool, IpamError> {
        if self.state.networks.contains_key(network) {
            return Err(IpamError::NetworkExists {
                network: network.to_string(),
            });
        }
        let subnet = config.subnet;
        if subnet.prefix_len() > 30 {
            return Err(IpamError::SubnetTooSmall {
                network: network.to_string(),
                subnet,
            });
        }
        if let Some((other, pool)) = self
            .state
            .networks
            .iter()
            .find(|(_, pool)| pool.subnet.overlaps(&subnet))
        {
            return Err(IpamError::Overlap {
                network: network.to_string(),
                subnet,
                other: other.clone(),
                other_subnet: pool.subnet,
            });
        }
        let gateway = config.gateway.unwrap_or_else(|| subnet.first_host());
        if !subnet.contains(gateway) {
            return Err(IpamError::GatewayOutsideSubnet {
                network: network.to_string(),
                gateway,
                subnet,
            });
        }
        let ip_range = config.ip_range.unwrap_or(subnet);
        if !subnet.covers(&ip_range) {
            return Err(IpamError::RangeOutsideSubnet {
                network: network.to_string(),
                range: ip_range,
                subnet,
            });
        }
        let pool = Pool {
            subnet,
            gateway,
            ip_range,
            allocated: BTreeMap::new(),
        };
        self.commit(|state| {
            state.networks.insert(network.to_string(), pool);
        })?;
        Ok(&self.state.networks[network])
    }

    /// Forgets a network and all its allocations; `false` if it was unknown.
    pub fn remove_network(&mut self, network: &str) -> Result<bool, IpamError> {
        if !self.state.networks.contains_key(network) {
            return Ok(false);
        }
        self.commit(|state| {
            state.networks.remove(network);
        })?;
        Ok(true)
    }

    /// Allocates `requested` (an explicit `--ip`, anywhere in the subnet) or the first free
    /// address of the pool's range, recording `owner`.
    pub fn allocate(
        &mut self,
        network: &str,
        owner: &str,
        requested: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, IpamError> {
        let pool = self.pool_of(network)?;
        let address = match requested {
            Some(address) => {
                if !pool.is_assignable(address) {
                    return Err(IpamError::AddressNotAssignable {
                        network: network.to_string(),
                        address,
                        subnet: pool.subnet,
                    });
                }
                if let Some(owner) = pool.allocated.get(&address) {
                    return Err(IpamError::AddressInUse {
                        network: network.to_string(),
                        address,
                        owner: owner.clone(),
                    });
                }
                address
            }
            None => first_free(pool).ok_or_else(|| IpamError::Exhausted {
                network: network.to_string(),
                range: pool.ip_range,
            })?,
        };
        self.commit_with(Durability::AtomicOnly, |state| {
            if let Some(pool) = state.networks.get_mut(network) {
                pool.allocated.insert(address, owner.to_string());
            }
        })?;
        Ok(address)
    }

    /// Releases one address; `false` if it was not allocated.
    pub fn release(&mut self, network: &str, address: Ipv4Addr) -> Result<bool, IpamError> {
        if !self.pool_of(network)?.allocated.contains_key(&address) {
            return Ok(false);
        }
        self.commit_with(Durability::AtomicOnly, |state| {
            if let Some(pool) = state.networks.get_mut(network) {
                pool.allocated.remove(&address);
            }
        })?;
        Ok(true)
    }

    /// Releases every address `owner` holds on `network`; returns how many.
    pub fn release_owner(&mut self, network: &str, owner: &str) -> Result<usize, IpamError> {
        let held = self
            .pool_of(network)?
            .allocated
            .values()
            .filter(|o| *o == owner)
            .count();
        if held > 0 {
            self.commit(|state| {
                if let Some(pool) = state.networks.get_mut(network) {
                    pool.allocated.retain(|_, o| o != owner);
                }
            })?;
        }
        Ok(held)
    }

    fn pool_of(&self, network: &str) -> Result<&Pool, IpamError> {
        self.state
            .networks
            .get(network)
            .ok_or_else(|| IpamError::UnknownNetwork {
                network: network.to_string(),
            })
    }

    /// Applies `change` to a copy, persists the copy, and only then adopts it, so memory and
    /// disk never disagree after an I/O error.
    fn commit(&mut self, change: impl FnOnce(&mut State)) -> Result<(), IpamError> {
        self.commit_with(Durability::Durable, change)
    }

    fn commit_with(
        &mut self,
        durability: Durability,
        change: impl FnOnce(&mut State),
    ) -> Result<(), IpamError> {
        let mut next = self.state.clone();
        change(&mut next);
        match durability {
            Durability::Durable => persist::save_json(&self.path, &next)?,
            Durability::AtomicOnly => persist::save_json_atomic_only(&self.path, &next)?,
        }
        self.state = next;
        Ok(())
    }
}

/// Pool definitions are saved durably; allocations (which only describe running containers,
/// gone after a power cut anyway) atomically but without fsync, which would dominate the cost
/// of starting a container.
#[derive(Debug, Clone, Copy)]
enum Durability {
    Durable,
    AtomicOnly,
}

fn first_free(pool: &Pool) -> Option<Ipv4Addr> {
    let start = u32::from(pool.ip_range.network());
    let end = u32::from(pool.ip_range.broadcast());
    (start..=end)
        .map(Ipv4Addr::from)
        .find(|address| pool.is_assignable(*address) && !pool.allocated.contains_key(address))
}
