//! Server configuration: a JSON file (`--config`) whose values command-line flags override.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::auth::AccessRule;

pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parse config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("config: {field} is required")]
    Missing { field: &'static str },
    #[error("config: tls_cert and tls_key must be given together")]
    TlsHalf,
}

/// How clients authenticate.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    Htpasswd {
        file: PathBuf,
    },
    Token {
        /// htpasswd file the token endpoint checks Basic credentials against.
        htpasswd: PathBuf,
        #[serde(default = "default_issuer")]
        issuer: String,
        #[serde(default = "default_service")]
        service: String,
        #[serde(default)]
        realm: Option<String>,
        #[serde(default = "default_ttl")]
        ttl_secs: u64,
        /// File holding the HMAC key; a random key per process when absent.
        #[serde(default)]
        key_file: Option<PathBuf>,
    },
}

pub fn default_issuer() -> String {
    "berth-registry".to_owned()
}
pub fn default_service() -> String {
    "berth-registry".to_owned()
}
fn default_ttl() -> u64 {
    300
}

/// Everything `serve` and `gc` need.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub addr: String,
    pub root: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub auth: Option<AuthConfig>,
    pub anonymous_pull: bool,
    pub access: Vec<AccessRule>,
    pub max_manifest_bytes: u64,
    pub max_blob_bytes: u64,
    pub max_upload_sessions: usize,
    pub delete_enabled: bool,
    /// gc: blobs modified more recently than this are never swept (pushes in flight).
    pub gc_blob_grace_secs: u64,
    /// gc: upload sessions idle longer than this are removed.
    pub gc_upload_max_age_secs: u64,
    /// serve: how often the server itself expires upload sessions idle longer than
    /// `gc_upload_max_age_secs` (0: never; `gc` still does).
    pub upload_expiry_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: "127.0.0.1:5000".to_owned(),
            root: None,
            tls_cert: None,
            tls_key: None,
            auth: None,
            anonymous_pull: false,
            access: Vec::new(),
            max_manifest_bytes: DEFAULT_MAX_MANIFEST_BYTES,
            max_blob_bytes: u64::MAX,
            max_upload_sessions: 1024,
            delete_enabled: true,
            gc_blob_grace_secs: 600,
            gc_upload_max_age_secs: 24 * 3600,
            upload_expiry_interval_secs: 600,
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    pub fn root(&self) -> Result<&Path, ConfigError> {
        self.root
            .as_deref()
            .ok_or(ConfigError::Missing { field: "root" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config_file() {
        let text = r#"{
            "addr": "127.0.0.1:5001", "root": "/srv/registry", "anonymous_pull": true,
            "auth": {"type": "token", "htpasswd": "/etc/registry/htpasswd", "realm": "https://r/token"},
            "access": [{"user": "ci", "repository": "apps/*", "actions": ["pull", "push"]}],
            "max_manifest_bytes": 1048576, "gc_blob_grace_secs": 60
        }"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        let cfg = Config::load(&path).unwrap();
        assert_eq!(cfg.addr, "127.0.0.1:5001");
        assert_eq!(cfg.root().unwrap(), Path::new("/srv/registry"));
        assert!(cfg.anonymous_pull);
        assert_eq!(cfg.max_manifest_bytes, 1 << 20);
        assert_eq!(
            cfg.gc_upload_max_age_secs,
            24 * 3600,
            "defaults fill the rest"
        );
        match cfg.auth {
            Some(AuthConfig::Token {
                issuer,
                ttl_secs,
                realm,
                ..
            }) => {
                assert_eq!(issuer, "berth-registry");
                assert_eq!(ttl_secs, 300);
                assert_eq!(realm.as_deref(), Some("https://r/token"));
            }
            other => panic!("unexpected auth {other:?}"),
        }
        assert_eq!(cfg.access.len(), 1);

        std::fs::write(&path, r#"{"adress": "typo"}"#).unwrap();
        assert!(matches!(
            Config::load(&path),
            Err(ConfigError::Parse { .. })
        ));
    }
}
