//! `--mac-address` from clients of API < 1.44: they send it container-wide as
//! `Config.MacAddress` (at the top level of the create body), a field the 1.53 models no
//! longer have. Docker (handleMACAddressBC) moves it into the endpoint settings of the
//! container's network; so do we, before the body becomes typed.

use bollard_stubs::models::ContainerCreateBody;
use serde_json::{Map, Value};

/// The create body from its JSON, with a container-wide `MacAddress` moved into the
/// endpoint settings of the network the container is created on.
pub fn create_body_from_json(mut body: Value) -> Result<ContainerCreateBody, serde_json::Error> {
    move_legacy_mac(&mut body);
    serde_json::from_value(body)
}

fn move_legacy_mac(body: &mut Value) {
    let Some(object) = body.as_object_mut() else {
        return;
    };
    let mac = match object.remove("MacAddress") {
        Some(Value::String(mac)) if !mac.is_empty() => mac,
        _ => return,
    };
    let mode = object
        .get("HostConfig")
        .and_then(|h| h.get("NetworkMode"))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("default")
        .to_string();
    // host, none and container:<id> have no endpoint of their own to carry an address.
    if mode == "host" || mode == "none" || mode.starts_with("container:") {
        return;
    }
    let networking = object
        .entry("NetworkingConfig")
        .or_insert_with(|| Value::Object(Map::new()));
    if !networking.is_object() {
        *networking = Value::Object(Map::new());
    }
    let Some(networking) = networking.as_object_mut() else {
        return;
    };
    let endpoints = networking
        .entry("EndpointsConfig")
        .or_insert_with(|| Value::Object(Map::new()));
    if !endpoints.is_object() {
        *endpoints = Value::Object(Map::new());
    }
    let Some(endpoints) = endpoints.as_object_mut() else {
        return;
    };
    if endpoints.is_empty() {
        endpoints.insert(mode, Value::Object(Map::new()));
    }
    // Before 1.44 there is one endpoint at create: the address is its.
    for settings in endpoints.values_mut() {
        if !settings.is_object() {
            *settings = Value::Object(Map::new());
        }
        if let Some(settings) = settings.as_object_mut() {
            settings.insert("MacAddress".to_string(), Value::String(mac.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint_macs(body: &ContainerCreateBody) -> Vec<(String, Option<String>)> {
        let mut macs: Vec<_> = body
            .networking_config
            .as_ref()
            .and_then(|n| n.endpoints_config.as_ref())
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.mac_address.clone()))
            .collect();
        macs.sort();
        macs
    }

    #[test]
    fn default_network_gets_the_address() {
        let body = create_body_from_json(json!({
            "Image": "busybox", "MacAddress": "02:42:ac:11:00:99", "HostConfig": {}
        }))
        .unwrap();
        assert_eq!(
            endpoint_macs(&body),
            [("default".to_string(), Some("02:42:ac:11:00:99".to_string()))]
        );
    }

    #[test]
    fn an_existing_endpoint_config_gets_it() {
        let body = create_body_from_json(json!({
            "MacAddress": "02:42:ac:11:00:98",
            "HostConfig": {"NetworkMode": "net6"},
            "NetworkingConfig": {"EndpointsConfig": {"net6": {"Aliases": ["a"]}}}
        }))
        .unwrap();
        assert_eq!(
            endpoint_macs(&body),
            [("net6".to_string(), Some("02:42:ac:11:00:98".to_string()))]
        );
    }

    #[test]
    fn host_none_and_empty_addresses_are_left_alone() {
        for mode in ["host", "none", "container:x"] {
            let body = create_body_from_json(json!({
                "MacAddress": "02:42:ac:11:00:97", "HostConfig": {"NetworkMode": mode}
            }))
            .unwrap();
            assert!(endpoint_macs(&body).is_empty(), "{mode}");
        }
        let body = create_body_from_json(json!({"MacAddress": ""})).unwrap();
        assert!(body.networking_config.is_none());
        assert!(create_body_from_json(json!({"Image": 5})).is_err());
    }
}
