//! Registry credentials of a `POST /build`: the docker CLI sends every credential it has as
//! `X-Registry-Config`, base64url JSON of `{"<registry>": AuthConfig, …}` (keys as in its
//! config.json: `localhost:5000`, `https://index.docker.io/v1/`). The builder uses the entry
//! of a base image's registry when it pulls that image.
//!
//! As dockerd does, a header that does not decode is ignored (a warning in the log): pulls of
//! public images must not fail because of it, and private ones then fail with the registry's
//! own "unauthorized".

use std::collections::HashMap;

use base64::Engine as _;
use serde::Deserialize;

use berth_engine::images::auth::{AuthConfig, registry_domain};

/// Credentials by registry domain (`docker.io`, `127.0.0.1:5000`).
#[derive(Debug, Clone, Default)]
pub struct RegistryAuths {
    by_domain: HashMap<String, AuthConfig>,
}

/// One entry as the docker CLI writes it: user and password, or the config.json `auth` form
/// (base64 of `user:password`).
#[derive(Debug, Default, Deserialize)]
struct WireAuth {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auth: String,
    #[serde(default)]
    serveraddress: String,
    #[serde(default)]
    identitytoken: String,
}

impl RegistryAuths {
    /// Decodes the header's value; anything malformed gives no credentials.
    pub fn from_header(value: Option<&str>) -> RegistryAuths {
        let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
            return RegistryAuths::default();
        };
        match decode(text) {
            Ok(auths) => auths,
            Err(reason) => {
                tracing::warn!(
                    reason,
                    "ignoring an X-Registry-Config header that does not decode"
                );
                RegistryAuths::default()
            }
        }
    }

    /// The credentials for `domain` (as a reference names its registry), if any were sent.
    pub fn for_domain(&self, domain: &str) -> Option<&AuthConfig> {
        self.by_domain.get(domain)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }
}

fn decode(text: &str) -> Result<RegistryAuths, &'static str> {
    let bytes = decode_base64(text).ok_or("not base64")?;
    // `null` and `{}` are what a client with no credentials sends.
    let entries: Option<HashMap<String, WireAuth>> =
        serde_json::from_slice(&bytes).map_err(|_| "not a JSON object of auth configs")?;
    let mut by_domain = HashMap::new();
    let mut exact = Vec::new();
    for (key, wire) in entries.unwrap_or_default() {
        let domain = registry_domain(&key);
        let Some(auth) = to_auth_config(wire, &key) else {
            continue;
        };
        // A key written exactly as the domain wins over a URL form of the same registry.
        if key == domain {
            exact.push((domain, auth));
        } else {
            by_domain.entry(domain).or_insert(auth);
        }
    }
    by_domain.extend(exact);
    Ok(RegistryAuths { by_domain })
}

fn to_auth_config(wire: WireAuth, key: &str) -> Option<AuthConfig> {
    let (username, password) = if wire.username.is_empty() && wire.password.is_empty() {
        let decoded = decode_base64(&wire.auth)?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        (user.to_string(), password.to_string())
    } else {
        (wire.username, wire.password)
    };
    let auth = AuthConfig {
        username,
        password,
        serveraddress: if wire.serveraddress.is_empty() {
            key.to_string()
        } else {
            wire.serveraddress
        },
        identitytoken: wire.identitytoken,
    };
    auth.credentials().is_some().then_some(auth)
}

/// Standard or URL-safe alphabet, padded or not (clients differ).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim().trim_end_matches('=');
    if trimmed.is_empty() {
        return None;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(json)
    }

    #[test]
    fn entries_are_found_by_the_domain_a_reference_names() {
        let value = header(
            r#"{"https://index.docker.io/v1/":{"username":"hub","password":"p1","serveraddress":"https://index.docker.io/v1/"},
                "127.0.0.1:5000":{"username":"local","password":"p2"},
                "http://127.0.0.1:5000/":{"username":"url-form","password":"p3"},
                "registry.example:443":{"auth":"dXNlcjpzZWNyZXQ6d2l0aDpjb2xvbnM="},
                "empty.example":{}}"#,
        );
        let auths = RegistryAuths::from_header(Some(&value));
        assert_eq!(auths.for_domain("docker.io").unwrap().username, "hub");
        let local = auths.for_domain("127.0.0.1:5000").unwrap();
        assert_eq!(
            (local.username.as_str(), local.password.as_str()),
            ("local", "p2")
        );
        assert_eq!(local.serveraddress, "127.0.0.1:5000");
        let from_auth = auths.for_domain("registry.example:443").unwrap();
        assert_eq!(
            (from_auth.username.as_str(), from_auth.password.as_str()),
            ("user", "secret:with:colons")
        );
        assert!(auths.for_domain("empty.example").is_none());
        assert!(auths.for_domain("other.example").is_none());
    }

    #[test]
    fn malformed_or_empty_headers_give_no_credentials() {
        for value in [
            None,
            Some(String::new()),
            Some("%%%not base64".to_string()),
            Some(header("[1, 2]")),
            Some(header("null")),
            Some(header("{}")),
            Some(header(r#"{"x": "not an object"}"#)),
        ] {
            assert!(
                RegistryAuths::from_header(value.as_deref()).is_empty(),
                "{value:?}"
            );
        }
        // Unpadded standard base64 works too.
        let plain = base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(r#"{"h:1":{"username":"u","password":"p"}}"#);
        assert!(
            RegistryAuths::from_header(Some(&plain))
                .for_domain("h:1")
                .is_some()
        );
    }
}
