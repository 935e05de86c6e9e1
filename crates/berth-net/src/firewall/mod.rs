//! NAT, port publishing and network isolation in Berth's own nftables table.
//!
//! Berth touches exactly one table (`table ip berth` by default, configurable so tests use
//! their own). Every change re-renders the whole table from [`FirewallState`] and replaces it
//! in one `nft -f` transaction; the state is saved first, so a crashed daemon's rules can
//! always be found and removed. Published ports are also reachable from the host's own
//! 127.0.0.1: an output-hook DNAT plus `route_localnet=1` on the bridge and a masquerade for
//! 127.0.0.0/8 sources — the kernel path Docker uses with `userland-proxy=false`, chosen so
//! there is no proxy process per port. The one exception to "our table only": when Docker's
//! firewall is on the host, tagged accepts for our bridges in its `DOCKER-USER` chain (see
//! `docker_user`), since its FORWARD policy DROP would win over our table's accepts.

mod docker_user;
mod nft;
mod render;
mod render6;
mod state;
mod sysctl;

use std::path::{Path, PathBuf};

pub use state::{FirewallState, Ipv6Net, NetworkRule, PortMapping, Protocol};

use crate::link::validate_ifname;
use crate::persist::{self, PersistError};

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("invalid nftables table name {table:?}: use 1-32 of [A-Za-z0-9_-]")]
    InvalidTable { table: String },
    #[error("network {network:?}: invalid bridge name {bridge:?}")]
    InvalidBridge { network: String, bridge: String },
    #[error("port mapping on unknown network {network:?}")]
    UnknownNetwork { network: String },
    #[error("port mapping {host_port}+{count} -> {container_port}: range is empty or passes 65535")]
    InvalidPortRange {
        host_port: u16,
        container_port: u16,
        count: u16,
    },
    #[error("{protocol} port {host_port} is already published by {owner:?}")]
    PortInUse {
        protocol: &'static str,
        host_port: u16,
        owner: String,
    },
    #[error("run {program}: {source}")]
    RunNft {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("nft rejected the ruleset ({status}): {stderr}\n--- script ---\n{script}")]
    NftRejected {
        status: String,
        stderr: String,
        script: String,
    },
    #[error("{program} {args}: {stderr}")]
    DockerUser {
        program: PathBuf,
        args: String,
        stderr: String,
    },
    #[error("sysctl {path}: {source}")]
    Sysctl {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error("teardown incomplete: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Teardown(Vec<FirewallError>),
}

/// Where the firewall keeps its table and its state.
#[derive(Debug, Clone)]
pub struct FirewallConfig {
    pub table: String,
    pub state_path: PathBuf,
    pub nft: PathBuf,
    /// The tools Docker's firewall is managed with (see `docker_user`).
    pub iptables: PathBuf,
    pub ip6tables: PathBuf,
}

impl FirewallConfig {
    /// Table `berth`, state under `state_dir`, `nft` from `/usr/sbin/nft`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            table: "berth".to_string(),
            state_path: state_dir.join("firewall.json"),
            nft: PathBuf::from("/usr/sbin/nft"),
            iptables: PathBuf::from("/usr/sbin/iptables"),
            ip6tables: PathBuf::from("/usr/sbin/ip6tables"),
        }
    }
}

#[derive(Debug)]
pub struct Firewall {
    config: FirewallConfig,
    state: FirewallState,
}

impl Firewall {
    /// Loads saved state (if any). Nothing is changed on the host until a mutating call.
    pub fn open(config: FirewallConfig) -> Result<Self, FirewallError> {
        let table = &config.table;
        if table.is_empty()
            || table.len() > 32
            || !table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(FirewallError::InvalidTable {
                table: table.clone(),
            });
        }
        let mut state: FirewallState = persist::load_json(&config.state_path)?.unwrap_or_default();
        state.table = config.table.clone();
        Ok(Self { config, state })
    }

    pub fn state(&self) -> &FirewallState {
        &self.state
    }

    /// Adds (or replaces) a network's NAT and isolation rules, enabling IP forwarding.
    pub fn add_network(&mut self, name: &str, rule: NetworkRule) -> Result<(), FirewallError> {
        if validate_ifname(&rule.bridge).is_err() {
            return Err(FirewallError::InvalidBridge {
                network: name.to_string(),
                bridge: rule.bridge,
            });
        }
        let mut next = self.state.clone();
        if sysctl::enable_ip_forward()? {
            next.enabled_ip_forward = true;
        }
        if rule.ipv6.is_some() && sysctl::enable_ipv6_forward()? {
            next.enabled_ipv6_forward = true;
        }
        // Replacing a network's rule: forget the old bridge's route_localnet record.
        if let Some(old) = next.networks.get(name).map(|old| old.bridge.clone())
            && old != rule.bridge
        {
            next.route_localnet.retain(|b| *b != old);
        }
        if !rule.internal && !next.route_localnet.contains(&rule.bridge) {
            sysctl::set_route_localnet(&rule.bridge, true)?;
            next.route_localnet.push(rule.bridge.clone());
        }
        next.networks.insert(name.to_string(), rule);
        self.install(next)?;
        self.sync_docker_user()
    }

    /// Removes a network's rules and any ports published on it; `false` if unknown.
    pub fn remove_network(&mut self, name: &str) -> Result<bool, FirewallError> {
        let mut next = self.state.clone();
        let Some(rule) = next.networks.remove(name) else {
            return Ok(false);
        };
        for mappings in next.ports.values_mut() {
            mappings.retain(|m| m.network != name);
        }
        next.ports.retain(|_, mappings| !mappings.is_empty());
        next.route_localnet.retain(|b| *b != rule.bridge);
        self.install(next)?;
        self.sync_docker_user()?;
        Ok(true)
    }

    /// Publishes `mappings` for `owner`, replacing what the owner had published before.
    pub fn publish(
        &mut self,
        owner: &str,
        mappings: Vec<PortMapping>,
    ) -> Result<(), FirewallError> {
        for m in &mappings {
            if !self.state.networks.contains_key(&m.network) {
                return Err(FirewallError::UnknownNetwork {
                    network: m.network.clone(),
                });
            }
            let fits = |port: u16| port.checked_add(m.count - 1).is_some();
            if m.count == 0 || !fits(m.host_port) || !fits(m.container_port) {
                return Err(FirewallError::InvalidPortRange {
                    host_port: m.host_port,
                    container_port: m.container_port,
                    count: m.count,
                });
            }
        }
        for (i, m) in mappings.iter().enumerate() {
            let others = self
                .state
                .ports
                .iter()
                .filter(|(other, _)| *other != owner)
                .flat_map(|(other, ms)| ms.iter().map(move |m| (other.as_str(), m)));
            let own = mappings[..i].iter().map(|m| (owner, m));
            if let Some((holder, _)) = others.chain(own).find(|(_, other)| m.clashes_with(other)) {
                return Err(FirewallError::PortInUse {
                    protocol: m.protocol.as_str(),
                    host_port: m.host_port,
                    owner: holder.to_string(),
                });
            }
        }
        let mut next = self.state.clone();
        next.ports.insert(owner.to_string(), mappings);
        self.install(next)
    }

    /// Removes everything `owner` published; `false` if it had nothing.
    pub fn unpublish(&mut self, owner: &str) -> Result<bool, FirewallError> {
        let mut next = self.state.clone();
        if next.ports.remove(owner).is_none() {
            return Ok(false);
        }
        self.install(next)?;
        Ok(true)
    }

    /// Re-installs the table and sysctls from saved state, e.g. after a host reboot wiped
    /// the kernel's copy while our state file survived.
    pub fn reapply(&mut self) -> Result<(), FirewallError> {
        let next = self.state.clone();
        if sysctl::enable_ip_forward()? {
            self.state.enabled_ip_forward = true;
        }
        if next.networks.values().any(|n| n.ipv6.is_some()) && sysctl::enable_ipv6_forward()? {
            self.state.enabled_ipv6_forward = true;
        }
        for bridge in &next.route_localnet {
            sysctl::set_route_localnet(bridge, true)?;
        }
        self.install(FirewallState {
            enabled_ip_forward: self.state.enabled_ip_forward,
            enabled_ipv6_forward: self.state.enabled_ipv6_forward,
            ..next
        })?;
        self.sync_docker_user()
    }

    /// Accepts for our forwarding bridges in Docker's `DOCKER-USER` chains, when Docker's
    /// firewall is on this host (its FORWARD policy would drop our traffic otherwise).
    fn sync_docker_user(&self) -> Result<(), FirewallError> {
        let forwarding = || self.state.networks.values().filter(|n| !n.internal);
        let v4: Vec<&str> = forwarding().map(|n| n.bridge.as_str()).collect();
        let v6: Vec<&str> = forwarding()
            .filter(|n| n.ipv6.is_some())
            .map(|n| n.bridge.as_str())
            .collect();
        let table = &self.config.table;
        docker_user::sync(&self.config.iptables, table, &v4)?;
        docker_user::sync(&self.config.ip6tables, table, &v6)
    }

    /// Saves `next`, then replaces the table with its rules.
    fn install(&mut self, next: FirewallState) -> Result<(), FirewallError> {
        persist::save_json(&self.config.state_path, &next)?;
        self.state = next;
        let script = render::replace_table_script(&self.config.table, &self.state);
        nft::load_script(&self.config.nft, &script)
    }

    /// Removes exactly our table and resets `route_localnet` on bridges we set it on, keeping
    /// going past failures and reporting them all. Works from saved state after a crash.
    pub fn teardown_all(&mut self) -> Result<(), FirewallError> {
        let mut failures = Vec::new();
        let script = render::delete_table_script(&self.config.table);
        if let Err(error) = nft::load_script(&self.config.nft, &script) {
            failures.push(error);
        }
        for program in [&self.config.iptables, &self.config.ip6tables] {
            if let Err(error) = docker_user::sync(program, &self.config.table, &[]) {
                failures.push(error);
            }
        }
        for bridge in &self.state.route_localnet {
            if sysctl::bridge_exists(bridge)
                && let Err(error) = sysctl::set_route_localnet(bridge, false)
            {
                failures.push(error);
            }
        }
        let cleared = FirewallState {
            table: self.config.table.clone(),
            enabled_ip_forward: self.state.enabled_ip_forward,
            enabled_ipv6_forward: self.state.enabled_ipv6_forward,
            ..FirewallState::default()
        };
        match persist::save_json(&self.config.state_path, &cleared) {
            Ok(()) => self.state = cleared,
            Err(error) => failures.push(error.into()),
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(FirewallError::Teardown(failures))
        }
    }
}
