//! Registry credentials as Docker clients send them (the decoded `X-Registry-Auth` header or
//! the `POST /auth` body), a client per request using them, and the login check.

use berth_registry::client::{ClientConfig, Credentials, RegistryClient};
pub use berth_registry::client::{InsecureRegistries, InsecureRegistryError};
use serde::Deserialize;
use serde_json::json;

use super::ImageError;
use crate::Engine;

/// Docker's `AuthConfig` (the full form: the API models omit the token fields).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthConfig {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub serveraddress: String,
    #[serde(default)]
    pub identitytoken: String,
}

impl AuthConfig {
    /// The username and password it carries, if any (an `identitytoken` is used instead of
    /// them for bearer tokens: see [`client_for`]).
    pub fn credentials(&self) -> Option<Credentials> {
        if !self.username.is_empty() || !self.password.is_empty() {
            return Some(Credentials {
                username: self.username.clone(),
                password: self.password.clone(),
            });
        }
        None
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://localhost:5000/` → `localhost:5000`.
pub fn registry_domain(server_address: &str) -> String {
    let trimmed = server_address
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = trimmed.split('/').next().unwrap_or(trimmed);
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        other => other.to_owned(),
    }
}

/// A client for one request: anonymous, or with the request's credentials for `domain`, and
/// the daemon's insecure registries. The daemon never reads a config.json of its own, as
/// dockerd does not.
pub fn client_for(
    engine: &Engine,
    domain: &str,
    auth: Option<&AuthConfig>,
) -> Result<RegistryClient, ImageError> {
    let config = ClientConfig {
        insecure_registries: engine.insecure_registries.clone(),
        ..ClientConfig::default()
    };
    let client = RegistryClient::new(config).map_err(|e| ImageError::Registry {
        reference: domain.to_owned(),
        source: Box::new(e),
    })?;
    if let Some(creds) = auth.and_then(AuthConfig::credentials) {
        client.set_credentials(domain, creds);
    }
    if let Some(token) = auth
        .map(|a| a.identitytoken.trim())
        .filter(|t| !t.is_empty())
    {
        client.set_identity_token(domain, token.to_owned());
    }
    Ok(client)
}

/// `docker info`'s `RegistryConfig` for the daemon's `--insecure-registry` entries: ranges
/// (loopback always) in `InsecureRegistryCIDRs`, names in `IndexConfigs` with `Secure: false`
/// next to Docker Hub's, as dockerd reports them.
pub fn registry_config(insecure_registries: &[String]) -> serde_json::Value {
    let insecure = InsecureRegistries::lenient(insecure_registries);
    let mut index_configs = serde_json::Map::new();
    index_configs.insert(
        "docker.io".to_owned(),
        json!({"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}),
    );
    for name in &insecure.names {
        index_configs.insert(
            name.clone(),
            json!({"Name": name, "Mirrors": [], "Secure": false, "Official": false}),
        );
    }
    json!({
        "InsecureRegistryCIDRs": insecure.cidr_strings(),
        "IndexConfigs": index_configs,
        "Mirrors": [],
    })
}

/// `POST /auth`: checks the credentials against the registry; nothing is stored. Returns the
/// identity token the registry's token server issued for them, if it issues such tokens.
pub async fn login(engine: &Engine, auth: &AuthConfig) -> Result<Option<String>, ImageError> {
    let domain = registry_domain(&auth.serveraddress);
    let creds = auth.credentials().unwrap_or(Credentials {
        username: String::new(),
        password: String::new(),
    });
    let client = client_for(engine, &domain, None)?;
    client
        .check_login(&domain, creds)
        .await
        .map_err(|e| ImageError::Registry {
            reference: domain,
            source: Box::new(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_become_domains() {
        assert_eq!(registry_domain("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(registry_domain("localhost:5000"), "localhost:5000");
        assert_eq!(
            registry_domain("http://127.0.0.1:5000/v2/"),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_domain(""), "docker.io");
    }

    #[test]
    fn registry_config_reports_ranges_and_insecure_names() {
        let config = registry_config(&["10.213.0.0/16".into(), "reg.lan:5000".into()]);
        assert_eq!(
            config["InsecureRegistryCIDRs"],
            json!(["::1/128", "127.0.0.0/8", "10.213.0.0/16"])
        );
        assert_eq!(config["IndexConfigs"]["reg.lan:5000"]["Secure"], false);
        assert_eq!(config["IndexConfigs"]["docker.io"]["Official"], true);
        assert!(config["IndexConfigs"].get("10.213.0.0/16").is_none());
    }
}
