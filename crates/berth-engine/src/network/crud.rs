//! `docker network create/ls/inspect/rm/prune`: the records, and the bridge networks' kernel
//! state through `berth_net::network::Networks`.

use std::net::Ipv4Addr;

use berth_net::Subnet;
use berth_net::network::NetworkSpec;
use bollard_stubs::models::NetworkCreateRequest;

use super::registry::{BridgeConfig, Driver, NetworkRecord};
use super::{Inner, NetError, NetworkOptions, NetworkService, pools};

/// Docker's create request, as the engine takes it.
pub type CreateRequest = NetworkCreateRequest;

/// Docker's option naming the bridge device.
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

fn now() -> String {
    berth_oci::time::rfc3339_nano(std::time::SystemTime::now())
}

fn predefined(name: &str, driver: Driver, bridge: Option<BridgeConfig>) -> NetworkRecord {
    NetworkRecord {
        id: crate::containers::names::new_id(),
        name: name.to_string(),
        driver,
        created: now(),
        bridge,
        labels: Default::default(),
        options: Default::default(),
        predefined: true,
    }
}

fn used_subnets(inner: &Inner) -> Vec<Subnet> {
    let mut taken = pools::host_routes();
    taken.extend(
        inner
            .registry
            .all()
            .filter_map(|r| Some(r.bridge.as_ref()?.subnet)),
    );
    taken
}

/// Records `bridge` (first free default pool), `host` and `none` if this data root has not
/// got them yet.
pub(super) fn ensure_predefined(
    inner: &mut Inner,
    options: &NetworkOptions,
) -> Result<(), NetError> {
    let has = |inner: &Inner, name: &str| inner.registry.all().any(|r| r.name == name);
    if !has(inner, "bridge") {
        let subnet = pools::first_free(&used_subnets(inner)).ok_or(NetError::NoFreeSubnet {
            network: "bridge".to_string(),
        })?;
        let mut record = predefined(
            "bridge",
            Driver::Bridge,
            Some(BridgeConfig {
                device: options.default_bridge.clone(),
                subnet,
                gateway: None,
                ip_range: None,
                internal: false,
                ipv6: None,
            }),
        );
        record.options.insert(
            BRIDGE_NAME_OPTION.to_string(),
            options.default_bridge.clone(),
        );
        inner.registry.insert(record)?;
    }
    if !has(inner, "host") {
        inner
            .registry
            .insert(predefined("host", Driver::Host, None))?;
    }
    if !has(inner, "none") {
        inner
            .registry
            .insert(predefined("none", Driver::Null, None))?;
    }
    Ok(())
}

/// Creates the bridge network's kernel state unless it exists (the default `bridge` is
/// created on first use).
pub(super) fn ensure_kernel(inner: &mut Inner, record: &NetworkRecord) -> Result<(), NetError> {
    let Some(bridge) = &record.bridge else {
        return Err(NetError::NotBridge {
            name: record.name.clone(),
            driver: record.driver.as_str().to_string(),
        });
    };
    if inner.nets.pool(&record.id).is_some() {
        return Ok(());
    }
    inner.nets.create(&NetworkSpec {
        name: record.id.clone(),
        bridge: bridge.device.clone(),
        subnet: bridge.subnet,
        gateway: bridge.gateway,
        ip_range: bridge.ip_range,
        internal: bridge.internal,
        ipv6: bridge.ipv6,
    })?;
    Ok(())
}

fn parse_field<T: std::str::FromStr>(field: &'static str, value: &str) -> Result<T, NetError> {
    value.parse().map_err(|_| NetError::Invalid {
        field,
        value: value.to_string(),
        why: "not a valid IPv4 value".to_string(),
    })
}

/// `--ipv6`: the IPv6 entry of the IPAM config. There is no default IPv6 pool, so the
/// subnet must be given; the gateway defaults to the subnet's first address.
fn ipv6_config(
    inner: &Inner,
    request: &CreateRequest,
) -> Result<berth_net::firewall::Ipv6Net, NetError> {
    let config = request
        .ipam
        .as_ref()
        .and_then(|ipam| ipam.config.as_ref())
        .and_then(|configs| {
            configs
                .iter()
                .find(|c| c.subnet.as_deref().is_some_and(|s| s.contains(':')))
        })
        .ok_or_else(|| NetError::Invalid {
            field: "subnet",
            value: String::new(),
            why: "an IPv6 network needs an IPv6 --subnet (there is no default IPv6 pool)"
                .to_string(),
        })?;
    let text = config.subnet.as_deref().unwrap_or_default();
    let subnet: berth_net::Subnet6 = text.parse().map_err(|_| NetError::Invalid {
        field: "subnet",
        value: text.to_string(),
        why: "not an IPv6 subnet".to_string(),
    })?;
    // Container addresses take their IPv4 host number: the IPv6 subnet needs at least 32
    // host bits.
    if subnet.host_bits() < 32 {
        return Err(NetError::Invalid {
            field: "subnet",
            value: text.to_string(),
            why: "IPv6 subnets longer than /96 are not supported".to_string(),
        });
    }
    if let Some(other) = inner.registry.all().find(|r| {
        r.bridge
            .as_ref()
            .and_then(|b| b.ipv6)
            .is_some_and(|v6| v6.subnet.overlaps(&subnet))
    }) {
        return Err(NetError::Invalid {
            field: "subnet",
            value: text.to_string(),
            why: format!(
                "Pool overlaps with other one on this address space (network {})",
                other.name
            ),
        });
    }
    let gateway = match config.gateway.as_deref().filter(|g| !g.is_empty()) {
        Some(g) => g
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .filter(|ip| subnet.contains(*ip))
            .ok_or_else(|| NetError::Invalid {
                field: "gateway",
                value: g.to_string(),
                why: format!("not an IPv6 address in {subnet}"),
            })?,
        None => subnet.host(1).ok_or_else(|| NetError::Invalid {
            field: "subnet",
            value: text.to_string(),
            why: "no room for a gateway".to_string(),
        })?,
    };
    Ok(berth_net::firewall::Ipv6Net { subnet, gateway })
}

fn validate_name(name: &str) -> Result<(), NetError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Err(NetError::Invalid {
            field: "network name",
            value: name.to_string(),
            why: "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed".to_string(),
        });
    }
    Ok(())
}

impl NetworkService {
    /// `POST /networks/create`: a user-defined bridge network, with its bridge and rules.
    pub fn create(&self, request: &CreateRequest) -> Result<NetworkRecord, NetError> {
        validate_name(&request.name)?;
        match request.driver.as_deref().unwrap_or("bridge") {
            "" | "bridge" => {}
            other => return Err(NetError::UnsupportedDriver(other.to_string())),
        }
        let config = request
            .ipam
            .as_ref()
            .and_then(|ipam| ipam.config.as_ref())
            .and_then(|configs| {
                configs
                    .iter()
                    .find(|c| c.subnet.as_deref().is_none_or(|s| !s.contains(':')))
            })
            .cloned()
            .unwrap_or_default();
        let mut inner = self.lock();
        if inner.registry.all().any(|r| r.name == request.name) {
            return Err(NetError::NameTaken(request.name.clone()));
        }
        let ipv6 = if request.enable_ipv6 == Some(true) {
            Some(ipv6_config(&inner, request)?)
        } else {
            None
        };
        let subnet = match config.subnet.as_deref() {
            Some(text) => {
                let subnet: Subnet = parse_field("subnet", text)?;
                if let Some(other) = inner.registry.all().find(|r| {
                    r.bridge
                        .as_ref()
                        .is_some_and(|b| b.subnet.overlaps(&subnet))
                }) {
                    return Err(NetError::Invalid {
                        field: "subnet",
                        value: text.to_string(),
                        why: format!(
                            "Pool overlaps with other one on this address space (network {})",
                            other.name
                        ),
                    });
                }
                subnet
            }
            None => {
                pools::first_free(&used_subnets(&inner)).ok_or_else(|| NetError::NoFreeSubnet {
                    network: request.name.clone(),
                })?
            }
        };
        let gateway: Option<Ipv4Addr> = config
            .gateway
            .as_deref()
            .map(|g| parse_field("gateway", g))
            .transpose()?;
        let ip_range: Option<Subnet> = config
            .ip_range
            .as_deref()
            .map(|r| parse_field("ip-range", r))
            .transpose()?;
        let id = crate::containers::names::new_id();
        let options = request.options.clone().unwrap_or_default();
        let device = match options.get(BRIDGE_NAME_OPTION) {
            Some(name) => {
                berth_net::link::validate_ifname(name).map_err(|_| NetError::Invalid {
                    field: BRIDGE_NAME_OPTION,
                    value: name.clone(),
                    why: "an interface name of 1-15 bytes".to_string(),
                })?;
                name.clone()
            }
            None => format!("br-{}", &id[..12]),
        };
        let record = NetworkRecord {
            id,
            name: request.name.clone(),
            driver: Driver::Bridge,
            created: now(),
            bridge: Some(BridgeConfig {
                device,
                subnet,
                gateway,
                ip_range,
                internal: request.internal.unwrap_or(false),
                ipv6,
            }),
            labels: request.labels.clone().unwrap_or_default(),
            options,
            predefined: false,
        };
        ensure_kernel(&mut inner, &record)?;
        if let Err(error) = inner.registry.insert(record.clone()) {
            let _ = inner.nets.remove(&record.id);
            return Err(error);
        }
        Ok(record)
    }

    pub fn list(&self) -> Vec<NetworkRecord> {
        self.lock().registry.all().cloned().collect()
    }

    /// By full ID, exact name or unique ID prefix.
    pub fn find(&self, name_or_id: &str) -> Result<NetworkRecord, NetError> {
        self.lock().registry.find(name_or_id).cloned()
    }

    /// IDs of the containers with an endpoint on `network_id`.
    pub fn containers_on(&self, network_id: &str) -> Vec<String> {
        containers_on(&self.lock(), network_id)
    }

    /// `DELETE /networks/{id}`: refused for predefined networks and while containers are
    /// attached, as Docker does.
    pub fn remove(&self, name_or_id: &str) -> Result<NetworkRecord, NetError> {
        let mut inner = self.lock();
        let record = inner.registry.find(name_or_id)?.clone();
        remove_locked(&mut inner, &record)?;
        Ok(record)
    }

    /// `POST /networks/prune`: every user-defined network without containers that `keep`
    /// does not protect (the API's filters); returns the removed ones.
    pub fn prune(&self, selected: impl Fn(&NetworkRecord) -> bool) -> Vec<NetworkRecord> {
        let mut inner = self.lock();
        let candidates: Vec<NetworkRecord> = inner
            .registry
            .all()
            .filter(|r| !r.predefined && selected(r))
            .cloned()
            .collect();
        let mut removed = Vec::new();
        for record in candidates {
            if containers_on(&inner, &record.id).is_empty() {
                match remove_locked(&mut inner, &record) {
                    Ok(()) => removed.push(record),
                    Err(error) => tracing::warn!(network = %record.name, %error, "prune"),
                }
            }
        }
        removed
    }
}

pub(super) fn containers_on(inner: &Inner, network_id: &str) -> Vec<String> {
    inner
        .sandboxes
        .values()
        .filter(|s| s.endpoint(network_id).is_some())
        .map(|s| s.container.clone())
        .collect()
}

fn remove_locked(inner: &mut Inner, record: &NetworkRecord) -> Result<(), NetError> {
    if record.predefined {
        return Err(NetError::Predefined {
            name: record.name.clone(),
        });
    }
    if !containers_on(inner, &record.id).is_empty() {
        return Err(NetError::ActiveEndpoints {
            name: record.name.clone(),
            id: record.id.clone(),
        });
    }
    if inner.nets.pool(&record.id).is_some() {
        inner.nets.remove(&record.id)?;
    }
    inner.registry.remove(&record.id)
}
