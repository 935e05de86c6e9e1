//! Changes to running containers and to the daemon's view after a restart:
//! `docker network connect/disconnect`, `restore`, and lookups for the integrator.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_net::link::{self, NetnsHandle};
use bollard_stubs::models::{EndpointSettings, HostConfig};

use super::attach::{add_endpoint, into_result, start_resolver, teardown};
use super::etc_files;
use super::registry::{Driver, NetworkRecord};
use super::sandbox::{self, EndpointRecord, SandboxRecord};
use super::{NetError, NetworkService};

/// The first endpoint with a gateway holds the default route (see `add_endpoint`); when it
/// leaves (it was at `index`), the next one with a gateway takes the route over, as Docker
/// moves the container's gateway.
fn hand_over_default_route(
    sandbox: &SandboxRecord,
    gone: &EndpointRecord,
    index: usize,
) -> Result<(), NetError> {
    let (before, after) = sandbox
        .endpoints
        .split_at(index.min(sandbox.endpoints.len()));
    let held_route =
        gone.endpoint.gateway.is_some() && !before.iter().any(|e| e.endpoint.gateway.is_some());
    let next = after
        .iter()
        .find_map(|e| Some((e.endpoint.gateway?, e.ifname.as_str())));
    let (true, Some((gateway, ifname)), Some(path)) = (held_route, next, &sandbox.netns) else {
        return Ok(());
    };
    let netns = NetnsHandle::open(path).map_err(NetError::Netns)?;
    let mut inside = link::Netlink::open_in(&netns).map_err(NetError::Netns)?;
    inside
        .add_default_route(gateway, ifname)
        .map_err(NetError::Netns)
}

impl NetworkService {
    /// `docker network connect` on a running container whose namespace is `netns_path`.
    pub fn connect(
        &self,
        container_id: &str,
        container_name: &str,
        netns_path: &Path,
        network: &str,
        settings: Option<&EndpointSettings>,
    ) -> Result<NetworkRecord, NetError> {
        let mut inner = self.lock();
        let record = inner.registry.find(network)?.clone();
        if record.driver != Driver::Bridge {
            return Err(NetError::NotBridge {
                name: record.name.clone(),
                driver: record.driver.as_str().to_string(),
            });
        }
        let mut sandbox = match inner.sandboxes.get(container_id) {
            Some(s) if s.netns.is_none() || s.mode_network.is_some() => {
                return Err(NetError::Invalid {
                    field: "network",
                    value: record.name.clone(),
                    why: "container cannot be connected to multiple networks with one of the networks in private (none) or host mode".to_string(),
                });
            }
            Some(s) => s.clone(),
            None => SandboxRecord {
                container: container_id.to_string(),
                name: container_name.trim_start_matches('/').to_string(),
                netns: Some(netns_path.to_path_buf()),
                owns_netns: false,
                endpoints: Vec::new(),
                mode_network: None,
                ports: Vec::new(),
                exposed: Vec::new(),
                dns_upstreams: etc_files::dns_upstreams(
                    &HostConfig::default(),
                    &etc_files::host_resolv_conf(&self.options.resolv_conf),
                )?,
                // Not known here; the name and short ID still resolve.
                hostname: String::new(),
            },
        };
        let netns = NetnsHandle::open(sandbox.netns.as_deref().unwrap_or(netns_path))
            .map_err(NetError::Netns)?;
        add_endpoint(&mut inner, &mut sandbox, &netns, &record, settings)?;
        let saved = sandbox::save(&self.sandbox_dir, &sandbox)
            .and_then(|()| start_resolver(&mut inner, &sandbox));
        if let Err(error) = saved {
            if let Some(e) = sandbox.endpoints.pop() {
                let _ = inner.nets.disconnect(&e.endpoint);
            }
            let _ = sandbox::save(&self.sandbox_dir, &sandbox);
            return Err(error);
        }
        inner.sandboxes.insert(container_id.to_string(), sandbox);
        Ok(record)
    }

    /// `docker network disconnect`: removes the container's endpoint on `network` (and ports
    /// published through it).
    pub fn disconnect(&self, container_id: &str, network: &str) -> Result<NetworkRecord, NetError> {
        let mut inner = self.lock();
        let record = inner.registry.find(network)?.clone();
        let not_attached = || NetError::NotAttached {
            container: container_id.to_string(),
            network: record.name.clone(),
        };
        let mut sandbox = inner
            .sandboxes
            .get(container_id)
            .cloned()
            .ok_or_else(not_attached)?;
        let index = sandbox
            .endpoints
            .iter()
            .position(|e| e.network_id == record.id)
            .ok_or_else(not_attached)?;
        let endpoint = sandbox.endpoints.remove(index);
        let mut failures = Vec::new();
        if sandbox.ports.iter().any(|m| m.network == record.id) {
            sandbox.ports.retain(|m| m.network != record.id);
            let republished = if sandbox.ports.is_empty() {
                inner.nets.firewall().unpublish(container_id).map(drop)
            } else {
                inner
                    .nets
                    .firewall()
                    .publish(container_id, sandbox.ports.clone())
            };
            if let Err(e) = republished {
                failures.push(NetError::Firewall(e));
            }
        }
        if let Err(e) = inner.nets.disconnect(&endpoint.endpoint) {
            failures.push(e.into());
        }
        if let Err(e) = hand_over_default_route(&sandbox, &endpoint, index) {
            failures.push(e);
        }
        if let Err(e) = sandbox::save(&self.sandbox_dir, &sandbox) {
            failures.push(e);
        }
        if let Err(e) = start_resolver(&mut inner, &sandbox) {
            failures.push(e);
        }
        inner.sandboxes.insert(container_id.to_string(), sandbox);
        into_result(failures).map(|()| record)
    }

    /// After a daemon restart: containers that are still running get their resolvers back
    /// (their names were re-published at open); everything of the others is torn down.
    pub fn restore(&self, running: &[(String, i32)]) {
        let running: HashMap<&str, i32> = running
            .iter()
            .map(|(id, pid)| (id.as_str(), *pid))
            .collect();
        let mut inner = self.lock();
        let ids: Vec<String> = inner.sandboxes.keys().cloned().collect();
        for id in ids {
            let Some(sandbox) = inner.sandboxes.get(&id).cloned() else {
                continue;
            };
            if running.contains_key(id.as_str()) {
                if let Err(error) = start_resolver(&mut inner, &sandbox) {
                    tracing::warn!(container = %id, %error, "restoring the embedded DNS");
                }
                // Hold its published ports again; a port someone took meanwhile stays
                // published (its rules are back) but cannot be held.
                match super::reserve::reserve(&sandbox.ports) {
                    Ok(held) => {
                        inner.reservations.insert(id.clone(), held);
                    }
                    Err(taken) => tracing::warn!(
                        container = %id, address = %taken.address, port = taken.port,
                        "a published port was taken while the daemon was down"
                    ),
                }
            } else {
                inner.sandboxes.remove(&id);
                for error in teardown(&mut inner, &sandbox, &self.sandbox_dir) {
                    tracing::warn!(container = %id, %error, "cleaning up a stopped container's network");
                }
            }
        }
        // Namespaces of containers we have no record of (a crash before the first save).
        if let Ok(entries) = std::fs::read_dir(&self.netns_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !inner.sandboxes.contains_key(&name) {
                    let _ = link::remove_persistent_netns(entry.path());
                }
            }
        }
    }

    /// The networks a container is on (for the integrator's `connect`/`disconnect` events).
    pub fn networks_of(&self, container_id: &str) -> Vec<NetworkRecord> {
        let inner = self.lock();
        let Some(sandbox) = inner.sandboxes.get(container_id) else {
            return Vec::new();
        };
        sandbox
            .endpoints
            .iter()
            .map(|e| e.network_id.as_str())
            .chain(sandbox.mode_network.as_deref())
            .filter_map(|id| inner.registry.by_id(id).cloned())
            .collect()
    }

    /// The container's address on `network` (name or ID), if it has an endpoint there.
    pub fn address_on(&self, container_id: &str, network: &str) -> Option<std::net::Ipv4Addr> {
        let inner = self.lock();
        let record = inner.registry.find(network).ok()?;
        let sandbox = inner.sandboxes.get(container_id)?;
        Some(sandbox.endpoint(&record.id)?.endpoint.address)
    }

    /// The network namespace file of a container attached with its own namespace.
    pub fn netns_path(&self, container_id: &str) -> Option<PathBuf> {
        self.lock().sandboxes.get(container_id)?.netns.clone()
    }
}
