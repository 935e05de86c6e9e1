//! Docker-compatible credential storage: `config.json` with `{"auths":{"host":{"auth":"b64"}}}`,
//! at `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. Other keys in the file are kept.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

/// Docker stores Docker Hub credentials under this legacy key.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("neither DOCKER_CONFIG nor HOME is set: cannot locate config.json")]
    NoHome,
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: entry for {key:?}: {reason}")]
    BadEntry {
        path: PathBuf,
        key: String,
        reason: &'static str,
    },
}

/// A username and password (or token used as password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The value of a `Basic` Authorization header.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// The key Docker uses for a registry domain.
pub fn config_key(domain: &str) -> String {
    if domain == "docker.io" || domain == "index.docker.io" || domain == "registry-1.docker.io" {
        DOCKER_HUB_KEY.to_owned()
    } else {
        domain.to_owned()
    }
}

/// Strips scheme and path from a config key so `https://host/v1/` matches `host`.
fn key_host(key: &str) -> &str {
    let no_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    no_scheme.split('/').next().unwrap_or(no_scheme)
}

#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
}

impl CredentialStore {
    pub fn at(path: impl Into<PathBuf>) -> CredentialStore {
        CredentialStore { path: path.into() }
    }

    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn default_location() -> Result<CredentialStore, CredentialsError> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return Ok(Self::at(Path::new(&dir).join("config.json")));
        }
        let home = std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .ok_or(CredentialsError::NoHome)?;
        Ok(Self::at(Path::new(&home).join(".docker/config.json")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<Map<String, Value>, CredentialsError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(source) => {
                return Err(CredentialsError::Io {
                    op: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        serde_json::from_slice(&bytes).map_err(|source| CredentialsError::Json {
            path: self.path.clone(),
            source,
        })
    }

    /// Credentials for a registry domain (`docker.io`, `localhost:5000`), if stored.
    pub fn get(&self, domain: &str) -> Result<Option<Credentials>, CredentialsError> {
        let config = self.load()?;
        let Some(auths) = config.get("auths").and_then(Value::as_object) else {
            return Ok(None);
        };
        let wanted = config_key(domain);
        let entry = auths.get(&wanted).map(|v| (wanted.clone(), v)).or_else(|| {
            auths
                .iter()
                .find(|(k, _)| key_host(k) == key_host(&wanted))
                .map(|(k, v)| (k.clone(), v))
        });
        let Some((key, entry)) = entry else {
            return Ok(None);
        };
        let bad = |reason| CredentialsError::BadEntry {
            path: self.path.clone(),
            key: key.clone(),
            reason,
        };
        if let Some(auth) = entry
            .get("auth")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad("auth is not base64"))?;
            let text = String::from_utf8(decoded).map_err(|_| bad("auth is not UTF-8"))?;
            let (user, pass) = text.split_once(':').ok_or_else(|| bad("auth lacks ':'"))?;
            return Ok(Some(Credentials {
                username: user.to_owned(),
                password: pass.to_owned(),
            }));
        }
        match (
            entry.get("username").and_then(Value::as_str),
            entry.get("password").and_then(Value::as_str),
        ) {
            (Some(u), Some(p)) => Ok(Some(Credentials {
                username: u.to_owned(),
                password: p.to_owned(),
            })),
            _ => Ok(None),
        }
    }

    /// Stores credentials for `domain`, keeping every other key of the file.
    pub fn store(&self, domain: &str, creds: &Credentials) -> Result<(), CredentialsError> {
        let mut config = self.load()?;
        let auths = config
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        let raw = format!("{}:{}", creds.username, creds.password);
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        if let Some(map) = auths.as_object_mut() {
            map.insert(config_key(domain), serde_json::json!({ "auth": encoded }));
        }
        self.save(&config)
    }

    /// Removes stored credentials for `domain`; `false` when there were none.
    pub fn erase(&self, domain: &str) -> Result<bool, CredentialsError> {
        let mut config = self.load()?;
        let wanted = config_key(domain);
        let removed = match config.get_mut("auths").and_then(Value::as_object_mut) {
            Some(auths) => {
                let keys: Vec<String> = auths
                    .keys()
                    .filter(|k| **k == wanted || key_host(k) == key_host(&wanted))
                    .cloned()
                    .collect();
                for k in &keys {
                    auths.remove(k);
                }
                !keys.is_empty()
            }
            None => false,
        };
        if removed {
            self.save(&config)?;
        }
        Ok(removed)
    }

    /// Temp file (mode 0600) in the same directory, fsync, rename: never a half-written file.
    fn save(&self, config: &Map<String, Value>) -> Result<(), CredentialsError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let io = |op, path: &Path| {
            let path = path.to_owned();
            move |source| CredentialsError::Io { op, path, source }
        };
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let mut bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
        bytes.push(b'\n');
        berth_fsutil::write_atomic(&self.path, &bytes, 0o600)
            .map_err(io("write atomically", &self.path))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn store_get_erase_round_trip_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"psFormat":"x","auths":{"other:1":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        let store = CredentialStore::at(&path);
        let creds = Credentials {
            username: "alice".into(),
            password: "p:w".into(),
        };
        store.store("localhost:5000", &creds).unwrap();
        store.store("docker.io", &creds).unwrap();
        assert_eq!(store.get("localhost:5000").unwrap(), Some(creds.clone()));
        assert_eq!(store.get("docker.io").unwrap(), Some(creds.clone()));
        assert_eq!(store.get("other:1").unwrap().unwrap().username, "u");
        let text: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(text["psFormat"], "x");
        assert!(text["auths"][DOCKER_HUB_KEY]["auth"].is_string());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(store.erase("localhost:5000").unwrap());
        assert!(!store.erase("localhost:5000").unwrap());
        assert_eq!(store.get("localhost:5000").unwrap(), None);
        assert!(store.get("other:1").unwrap().is_some());
    }

    #[test]
    fn malformed_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"auths":{"h":{"auth":"!!"}}}"#).unwrap();
        let err = CredentialStore::at(&path).get("h").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            CredentialStore::at(&path).get("h"),
            Err(CredentialsError::Json { .. })
        ));
    }
}
