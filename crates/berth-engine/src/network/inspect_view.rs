//! Container inspect as Docker (API ≤ 1.51) sends it: beside `NetworkSettings.Networks` the
//! deprecated top-level fields of the default `bridge` endpoint (`IPAddress`, `Gateway`,
//! `MacAddress`, …) that scripts still read (`{{.NetworkSettings.IPAddress}}`). The 1.53
//! models dropped them; [`ContainerInspect`] puts them back when serialized.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use bollard_stubs::models::{
    ContainerInspectResponse, ContainerSummaryNetworkSettings, EndpointSettings, NetworkSettings,
    PortSummary, PortSummaryTypeEnum,
};
use serde::{Serialize, Serializer};

use super::NetworkService;
use super::ports::PortKey;

/// Docker's `NetworkSettingsBase` leftovers and `DefaultNetworkSettings` (the `bridge`
/// network's endpoint, empty strings when the container is not on it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LegacyNetworkSettings {
    #[serde(rename = "Bridge")]
    pub bridge: String,
    #[serde(rename = "HairpinMode")]
    pub hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen")]
    pub link_local_ipv6_prefix_len: i64,
    #[serde(rename = "SecondaryIPAddresses")]
    pub secondary_ip_addresses: Option<Vec<String>>,
    #[serde(rename = "SecondaryIPv6Addresses")]
    pub secondary_ipv6_addresses: Option<Vec<String>>,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    #[serde(rename = "Gateway")]
    pub gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    #[serde(rename = "MacAddress")]
    pub mac_address: String,
}

impl LegacyNetworkSettings {
    /// Docker's `getDefaultNetworkSettings`: the fields come from the `bridge` endpoint only.
    pub fn from_networks(networks: Option<&HashMap<String, EndpointSettings>>) -> Self {
        let Some(bridge) = networks.and_then(|n| n.get("bridge")) else {
            return Self::default();
        };
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            endpoint_id: text(&bridge.endpoint_id),
            gateway: text(&bridge.gateway),
            global_ipv6_address: text(&bridge.global_ipv6_address),
            global_ipv6_prefix_len: bridge.global_ipv6_prefix_len.unwrap_or(0),
            ip_address: text(&bridge.ip_address),
            ip_prefix_len: bridge.ip_prefix_len.unwrap_or(0),
            ipv6_gateway: text(&bridge.ipv6_gateway),
            mac_address: text(&bridge.mac_address),
            ..Self::default()
        }
    }
}

/// `GET /containers/{id}/json`'s body: the 1.53 model plus [`LegacyNetworkSettings`] inside
/// `NetworkSettings`. Derefs to the model, so callers read it as before.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInspect {
    pub response: ContainerInspectResponse,
    pub legacy: LegacyNetworkSettings,
}

impl ContainerInspect {
    pub fn new(response: ContainerInspectResponse) -> Self {
        let networks = response
            .network_settings
            .as_ref()
            .and_then(|s| s.networks.as_ref());
        let legacy = LegacyNetworkSettings::from_networks(networks);
        Self { response, legacy }
    }
}

impl Deref for ContainerInspect {
    type Target = ContainerInspectResponse;
    fn deref(&self) -> &ContainerInspectResponse {
        &self.response
    }
}

impl DerefMut for ContainerInspect {
    fn deref_mut(&mut self) -> &mut ContainerInspectResponse {
        &mut self.response
    }
}

#[derive(Serialize)]
struct SettingsOut<'a> {
    #[serde(flatten)]
    base: &'a NetworkSettings,
    #[serde(flatten)]
    legacy: &'a LegacyNetworkSettings,
}

#[derive(Serialize)]
struct InspectOut<'a> {
    #[serde(flatten)]
    base: ContainerInspectResponse,
    #[serde(rename = "NetworkSettings", skip_serializing_if = "Option::is_none")]
    network_settings: Option<SettingsOut<'a>>,
}

impl Serialize for ContainerInspect {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut base = self.response.clone();
        let settings = base.network_settings.take();
        InspectOut {
            base,
            network_settings: settings.as_ref().map(|s| SettingsOut {
                base: s,
                legacy: &self.legacy,
            }),
        }
        .serialize(serializer)
    }
}

/// `docker ps`'s `Ports`: one entry per host binding, one without host side per exposed
/// port that is not published (Docker's `container/view.go`).
pub fn summary_ports(settings: Option<&NetworkSettings>) -> Vec<PortSummary> {
    let mut out = Vec::new();
    let Some(ports) = settings.and_then(|s| s.ports.as_ref()) else {
        return out;
    };
    for (key, bindings) in ports {
        let Ok(port) = PortKey::parse(key) else {
            continue;
        };
        let typ = Some(match port.protocol {
            berth_net::firewall::Protocol::Tcp => PortSummaryTypeEnum::TCP,
            berth_net::firewall::Protocol::Udp => PortSummaryTypeEnum::UDP,
        });
        let bindings = bindings.as_deref().unwrap_or_default();
        if bindings.is_empty() {
            out.push(PortSummary {
                private_port: port.start,
                typ,
                ..Default::default()
            });
        }
        for binding in bindings {
            out.push(PortSummary {
                ip: binding.host_ip.clone(),
                private_port: port.start,
                public_port: binding.host_port.as_deref().and_then(|p| p.parse().ok()),
                typ,
            });
        }
    }
    // Stable output (the map has no order): by container port, then host port.
    out.sort_by_key(|p| (p.private_port, p.public_port, p.ip.clone()));
    out
}

impl NetworkService {
    /// What `GET /containers/json` shows of a container's network: its published ports and
    /// its endpoints (empty for a container that is not attached).
    pub fn summary(
        &self,
        container_id: &str,
    ) -> (Vec<PortSummary>, ContainerSummaryNetworkSettings) {
        let settings = self.settings(container_id);
        let ports = summary_ports(settings.as_ref());
        let networks = settings.and_then(|s| s.networks).unwrap_or_default();
        (
            ports,
            ContainerSummaryNetworkSettings {
                networks: Some(networks),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_stubs::models::{PortBinding, PortMap};

    #[test]
    fn top_level_fields_come_from_the_bridge_endpoint() {
        let bridge = EndpointSettings {
            endpoint_id: Some("ep".into()),
            gateway: Some("172.17.0.1".into()),
            ip_address: Some("172.17.0.2".into()),
            ip_prefix_len: Some(16),
            mac_address: Some("02:42:ac:11:00:02".into()),
            ..Default::default()
        };
        let response = ContainerInspectResponse {
            id: Some("c".into()),
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([("bridge".to_string(), bridge)])),
                ports: Some(PortMap::new()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let view = ContainerInspect::new(response);
        let json = serde_json::to_value(&view).unwrap();
        let settings = &json["NetworkSettings"];
        assert_eq!(settings["IPAddress"], "172.17.0.2");
        assert_eq!(settings["Gateway"], "172.17.0.1");
        assert_eq!(settings["IPPrefixLen"], 16);
        assert_eq!(settings["MacAddress"], "02:42:ac:11:00:02");
        assert_eq!(settings["EndpointID"], "ep");
        assert_eq!(settings["Bridge"], "");
        assert!(settings["SecondaryIPAddresses"].is_null());
        assert_eq!(
            settings["Networks"]["bridge"]["IPAddress"], "172.17.0.2",
            "{json}"
        );
        assert_eq!(json["Id"], "c");
        assert_eq!(view.id.as_deref(), Some("c"), "derefs to the model");

        let elsewhere = ContainerInspect::new(ContainerInspectResponse {
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([(
                    "mynet".to_string(),
                    EndpointSettings {
                        ip_address: Some("10.0.0.2".into()),
                        ..Default::default()
                    },
                )])),
                ..Default::default()
            }),
            ..Default::default()
        });
        let json = serde_json::to_value(&elsewhere).unwrap();
        assert_eq!(json["NetworkSettings"]["IPAddress"], "");
        assert_eq!(json["NetworkSettings"]["IPPrefixLen"], 0);
    }

    #[test]
    fn ps_ports_list_bindings_and_unpublished_exposed_ports() {
        let mut ports = PortMap::new();
        ports.insert(
            "80/tcp".into(),
            Some(vec![PortBinding {
                host_ip: Some("0.0.0.0".into()),
                host_port: Some("8080".into()),
            }]),
        );
        ports.insert("443/tcp".into(), None);
        ports.insert("53/udp".into(), Some(vec![]));
        let settings = NetworkSettings {
            ports: Some(ports),
            ..Default::default()
        };
        let out = summary_ports(Some(&settings));
        assert_eq!(
            out,
            vec![
                PortSummary {
                    ip: None,
                    private_port: 53,
                    public_port: None,
                    typ: Some(PortSummaryTypeEnum::UDP),
                },
                PortSummary {
                    ip: Some("0.0.0.0".into()),
                    private_port: 80,
                    public_port: Some(8080),
                    typ: Some(PortSummaryTypeEnum::TCP),
                },
                PortSummary {
                    ip: None,
                    private_port: 443,
                    public_port: None,
                    typ: Some(PortSummaryTypeEnum::TCP),
                },
            ]
        );
        assert!(summary_ports(None).is_empty());
    }
}
