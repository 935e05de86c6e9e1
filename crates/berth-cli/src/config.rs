//! Docker's client config (`~/.docker/config.json`, or `$DOCKER_CONFIG`): registry
//! credentials as `auths.<registry>.auth` = base64("user:password").

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub const DEFAULT_REGISTRY: &str = "https://index.docker.io/v1/";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `--config`, then `$DOCKER_CONFIG`, then `~/.docker`.
pub fn config_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_owned();
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".docker")
}

/// The config file as JSON (unknown keys kept as they are).
pub struct ConfigFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl ConfigFile {
    pub fn load(dir: &Path) -> Result<ConfigFile, ConfigError> {
        let path = dir.join("config.json");
        let doc = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| ConfigError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Ok(ConfigFile { path, doc })
    }

    /// (user, password) stored for `registry`.
    pub fn credentials(&self, registry: &str) -> Option<(String, String)> {
        let auth = self
            .doc
            .get("auths")?
            .get(registry)?
            .get("auth")?
            .as_str()?;
        let decoded = base64_decode(auth)?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }

    /// The identity token a login stored for `registry` (in place of the password), if any.
    pub fn identity_token(&self, registry: &str) -> Option<String> {
        let token = self
            .doc
            .get("auths")?
            .get(registry)?
            .get("identitytoken")?
            .as_str()?;
        (!token.is_empty()).then(|| token.to_owned())
    }

    /// Stores a login as the docker CLI does when the registry issued an identity token: the
    /// username and the token, no password.
    pub fn store_identity_token(&mut self, registry: &str, user: &str, token: &str) {
        self.store(registry, user, "");
        if let Some(Value::Object(entry)) =
            self.doc.get_mut("auths").and_then(|a| a.get_mut(registry))
        {
            entry.insert("identitytoken".to_owned(), Value::String(token.to_owned()));
        }
    }

    pub fn store(&mut self, registry: &str, user: &str, password: &str) {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(auths) = auths {
            let mut entry = Map::new();
            entry.insert(
                "auth".to_owned(),
                Value::String(base64_encode(format!("{user}:{password}").as_bytes())),
            );
            auths.insert(registry.to_owned(), Value::Object(entry));
        }
    }

    /// Removes the entry; false when there was none.
    pub fn remove(&mut self, registry: &str) -> bool {
        self.doc
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .is_some_and(|auths| auths.remove(registry).is_some())
    }

    pub fn save(&self) -> Result<(), ConfigError> {
        let err = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut text = serde_json::to_string_pretty(&self.doc).unwrap_or_default();
        text.push('\n');
        // Write beside, then rename: a crash never leaves a half-written config.
        let tmp = self.path.with_extension("json.tmp");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(err)?;
            file.write_all(text.as_bytes()).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)
    }
}

/// The key Docker stores a registry under: Docker Hub's legacy URL, else the host.
pub fn registry_key(server: Option<&str>) -> String {
    match server {
        None => DEFAULT_REGISTRY.to_owned(),
        Some(s) => {
            let host = s
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            match host {
                "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
                    DEFAULT_REGISTRY.to_owned()
                }
                _ => host.split('/').next().unwrap_or(host).to_owned(),
            }
        }
    }
}

/// The registry an image reference lives on (its first component when that looks like a host).
pub fn registry_of(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
            registry_key(Some(first))
        }
        _ => DEFAULT_REGISTRY.to_owned(),
    }
}

/// The `X-Registry-Auth` header value for stored credentials: base64url of the auth JSON.
pub fn registry_auth_header(dir: &Path, reference: &str) -> Option<String> {
    let config = ConfigFile::load(dir).ok()?;
    let registry = registry_of(reference);
    let (user, password) = config.credentials(&registry)?;
    let json = serde_json::json!({
        "username": user,
        "password": password,
        "identitytoken": config.identity_token(&registry).unwrap_or_default(),
        "serveraddress": registry,
    });
    Some(base64url_encode(json.to_string().as_bytes()))
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(input: &[u8]) -> String {
    encode_with(input, STD, true)
}

fn base64url_encode(input: &[u8]) -> String {
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    encode_with(input, URL, true)
}

fn encode_with(input: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in input.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for input in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "user:p@ss:word",
        ] {
            let enc = base64_encode(input.as_bytes());
            assert_eq!(base64_decode(&enc).unwrap(), input.as_bytes());
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("bad*").is_none());
    }

    #[test]
    fn registry_keys() {
        assert_eq!(registry_key(None), DEFAULT_REGISTRY);
        assert_eq!(registry_key(Some("docker.io")), DEFAULT_REGISTRY);
        assert_eq!(
            registry_key(Some("https://localhost:5000/")),
            "localhost:5000"
        );
        assert_eq!(registry_of("localhost:5000/a/b:1"), "localhost:5000");
        assert_eq!(registry_of("library/busybox"), DEFAULT_REGISTRY);
        assert_eq!(registry_of("busybox"), DEFAULT_REGISTRY);
    }

    #[test]
    fn store_and_remove_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"psFormat":"x"}"#).unwrap();
        let mut config = ConfigFile::load(dir.path()).unwrap();
        config.store("localhost:5000", "u", "p:w");
        config.save().unwrap();
        let config = ConfigFile::load(dir.path()).unwrap();
        assert_eq!(
            config.credentials("localhost:5000"),
            Some(("u".to_owned(), "p:w".to_owned()))
        );
        let raw: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(raw["psFormat"], "x");
        let mut config = ConfigFile::load(dir.path()).unwrap();
        config.store_identity_token("localhost:5000", "u", "tok");
        assert_eq!(
            config.credentials("localhost:5000"),
            Some(("u".to_owned(), String::new()))
        );
        assert_eq!(
            config.identity_token("localhost:5000").as_deref(),
            Some("tok")
        );
        assert_eq!(
            raw["auths"]["localhost:5000"]["auth"],
            base64_encode(b"u:p:w")
        );
        let header = registry_auth_header(dir.path(), "localhost:5000/x:1").unwrap();
        let decoded: Value = serde_json::from_slice(&base64_decode(&header).unwrap()).unwrap();
        assert_eq!(decoded["username"], "u");
        let mut config = ConfigFile::load(dir.path()).unwrap();
        assert!(config.remove("localhost:5000"));
        assert!(!config.remove("localhost:5000"));
    }
}
