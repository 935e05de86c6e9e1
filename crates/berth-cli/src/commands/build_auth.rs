//! The credentials a build may need for its base images: as the docker CLI does, every entry
//! of config.json's `auths` goes to the daemon as `X-Registry-Config` (base64url JSON of
//! registry → auth config); the daemon picks the one of each base image's registry.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config;

/// The header value for the config in `dir`, or `None` when it holds no credentials.
pub fn registry_config(dir: &Path) -> anyhow::Result<Option<String>> {
    let path = dir.join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("reading {}: {e}", path.display()),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", path.display()))?;
    let auths: Map<String, Value> = match doc.get("auths") {
        Some(Value::Object(auths)) => auths
            .iter()
            .filter(|(_, entry)| entry.is_object())
            .map(|(registry, entry)| (registry.clone(), entry.clone()))
            .collect(),
        _ => Map::new(),
    };
    if auths.is_empty() {
        return Ok(None);
    }
    let json = Value::Object(auths).to_string();
    Ok(Some(to_url_safe(&config::base64_encode(json.as_bytes()))))
}

/// base64 → base64url (the alphabet Docker's daemon decodes this header with).
fn to_url_safe(standard: &str) -> String {
    standard
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_credential_is_sent_and_none_means_no_header() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(registry_config(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join("config.json"), r#"{"psFormat":"x"}"#).unwrap();
        assert_eq!(registry_config(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"localhost:5000":{"auth":"dTpw"},"h:1":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        let header = registry_config(dir.path()).unwrap().unwrap();
        assert!(!header.contains(['+', '/']), "{header}");
        let standard: String = header
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                other => other,
            })
            .collect();
        let decoded = crate::config::base64_decode(&standard).unwrap();
        let sent: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(sent["localhost:5000"]["auth"], "dTpw");
        assert_eq!(sent["h:1"]["auth"], "eDp5");
        std::fs::write(dir.path().join("config.json"), "{broken").unwrap();
        assert!(registry_config(dir.path()).is_err());
    }
}
