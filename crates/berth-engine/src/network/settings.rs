//! Docker's views: a container's `NetworkSettings` (inspect) and a network's inspect body.

use std::collections::HashMap;

use bollard_stubs::models::{
    EndpointResource, EndpointSettings, Ipam, IpamConfig, NetworkInspect, NetworkSettings,
};

use super::registry::NetworkRecord;
use super::sandbox::{EndpointRecord, SandboxRecord};
use super::{NetError, NetworkService, ports};

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `Aliases` as Docker shows them to API < 1.45 clients: on a user-defined network the
/// `--network-alias` values plus the short container ID and the hostname (which resolve
/// there too), each once; `null` elsewhere.
fn aliases(
    record: &NetworkRecord,
    e: &EndpointRecord,
    container: &str,
    hostname: &str,
) -> Option<Vec<String>> {
    if !record.is_user_bridge() {
        return None;
    }
    let mut aliases = e.aliases.clone();
    let short = container.get(..12).unwrap_or(container);
    for extra in [short, hostname] {
        if !extra.is_empty() && !aliases.iter().any(|a| a == extra) {
            aliases.push(extra.to_string());
        }
    }
    Some(aliases)
}

fn endpoint_settings(
    record: &NetworkRecord,
    e: &EndpointRecord,
    container: &str,
    hostname: &str,
) -> EndpointSettings {
    let ep = &e.endpoint;
    EndpointSettings {
        aliases: aliases(record, e, container, hostname),
        network_id: Some(record.id.clone()),
        endpoint_id: Some(e.endpoint_id.clone()),
        gateway: Some(ep.gateway.map(|g| g.to_string()).unwrap_or_default()),
        ip_address: Some(ep.address.to_string()),
        ip_prefix_len: Some(i64::from(ep.prefix_len)),
        mac_address: Some(mac_text(ep.mac)),
        ipv6_gateway: Some(
            ep.ipv6
                .and_then(|v6| v6.gateway)
                .map(|g| g.to_string())
                .unwrap_or_default(),
        ),
        global_ipv6_address: Some(ep.ipv6.map(|v6| v6.address.to_string()).unwrap_or_default()),
        global_ipv6_prefix_len: Some(ep.ipv6.map_or(0, |v6| i64::from(v6.prefix_len))),
        dns_names: record.is_user_bridge().then(|| ep.names.clone()),
        ..Default::default()
    }
}

fn ipam(record: &NetworkRecord) -> Ipam {
    let config = record.bridge.as_ref().map(|b| IpamConfig {
        subnet: Some(b.subnet.to_string()),
        gateway: Some(
            b.gateway
                .unwrap_or_else(|| b.subnet.first_host())
                .to_string(),
        ),
        ip_range: b.ip_range.map(|r| r.to_string()),
        auxiliary_addresses: None,
    });
    let config6 = record
        .bridge
        .as_ref()
        .and_then(|b| b.ipv6)
        .map(|v6| IpamConfig {
            subnet: Some(v6.subnet.to_string()),
            gateway: Some(v6.gateway.to_string()),
            ip_range: None,
            auxiliary_addresses: None,
        });
    Ipam {
        driver: Some("default".to_string()),
        config: Some(config.into_iter().chain(config6).collect()),
        options: None,
    }
}

/// The body of `GET /networks/{id}` (and, without `Containers`, of `GET /networks`).
pub fn network_inspect(
    record: &NetworkRecord,
    containers: HashMap<String, EndpointResource>,
) -> NetworkInspect {
    NetworkInspect {
        name: Some(record.name.clone()),
        id: Some(record.id.clone()),
        created: Some(record.created.clone()),
        scope: Some("local".to_string()),
        driver: Some(record.driver.as_str().to_string()),
        enable_ipv4: Some(true),
        enable_ipv6: Some(record.bridge.as_ref().is_some_and(|b| b.ipv6.is_some())),
        ipam: Some(ipam(record)),
        internal: Some(record.bridge.as_ref().is_some_and(|b| b.internal)),
        attachable: Some(false),
        ingress: Some(false),
        config_only: Some(false),
        options: Some(record.options.clone()),
        labels: Some(record.labels.clone()),
        containers: Some(containers),
        ..Default::default()
    }
}

impl NetworkService {
    /// `NetworkSettings` for container inspect; `None` if the container is not attached.
    pub fn settings(&self, container_id: &str) -> Option<NetworkSettings> {
        let inner = self.lock();
        let sandbox: &SandboxRecord = inner.sandboxes.get(container_id)?;
        let mut networks = HashMap::new();
        for e in &sandbox.endpoints {
            if let Some(record) = inner.registry.by_id(&e.network_id) {
                networks.insert(
                    record.name.clone(),
                    endpoint_settings(record, e, container_id, &sandbox.hostname),
                );
            }
        }
        if let Some(record) = sandbox
            .mode_network
            .as_deref()
            .and_then(|id| inner.registry.by_id(id))
        {
            networks.insert(
                record.name.clone(),
                EndpointSettings {
                    network_id: Some(record.id.clone()),
                    ..Default::default()
                },
            );
        }
        Some(NetworkSettings {
            sandbox_id: Some(container_id.to_string()),
            sandbox_key: Some(
                sandbox
                    .netns
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ports: Some(ports::port_map(&sandbox.exposed, &sandbox.ports)),
            networks: Some(networks),
        })
    }

    /// `GET /networks/{id}`, with the attached containers.
    pub fn inspect(&self, name_or_id: &str) -> Result<NetworkInspect, NetError> {
        let inner = self.lock();
        let record = inner.registry.find(name_or_id)?;
        let mut containers = HashMap::new();
        for sandbox in inner.sandboxes.values() {
            let endpoint = sandbox.endpoint(&record.id);
            let on_mode = sandbox.mode_network.as_deref() == Some(record.id.as_str());
            if endpoint.is_none() && !on_mode {
                continue;
            }
            containers.insert(
                sandbox.container.clone(),
                EndpointResource {
                    name: Some(sandbox.name.clone()),
                    endpoint_id: endpoint.map(|e| e.endpoint_id.clone()),
                    mac_address: Some(
                        endpoint
                            .map(|e| mac_text(e.endpoint.mac))
                            .unwrap_or_default(),
                    ),
                    ipv4_address: Some(
                        endpoint
                            .map(|e| format!("{}/{}", e.endpoint.address, e.endpoint.prefix_len))
                            .unwrap_or_default(),
                    ),
                    ipv6_address: Some(
                        endpoint
                            .and_then(|e| e.endpoint.ipv6)
                            .map(|v6| format!("{}/{}", v6.address, v6.prefix_len))
                            .unwrap_or_default(),
                    ),
                },
            );
        }
        Ok(network_inspect(record, containers))
    }
}
