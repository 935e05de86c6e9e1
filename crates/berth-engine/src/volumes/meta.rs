//! One volume's metadata (`<root>/<name>/volume.json`) and the rules for its name.

use std::collections::HashMap;
use std::path::Path;

use bollard_stubs::models::{Volume, VolumeScopeEnum};
use serde::{Deserialize, Serialize};

use super::VolumeError;

/// Docker's label on the volumes it creates for `VOLUME` entries and `-v /path`.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

pub const META_FILE: &str = "volume.json";
pub const DATA_DIR: &str = "_data";

/// The only driver: a directory on the host (optionally a filesystem mounted there).
pub const LOCAL_DRIVER: &str = "local";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeMeta {
    pub name: String,
    pub driver: String,
    pub created_at: String,
    #[serde(default)]
    pub labels: HashMap<String, String>,
    /// The local driver's `type`, `o` and `device` options.
    #[serde(default)]
    pub options: HashMap<String, String>,
}

impl VolumeMeta {
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }

    /// Docker's API shape; `mountpoint` is the volume's `_data` directory.
    pub fn to_docker(&self, mountpoint: &Path) -> Volume {
        Volume {
            name: self.name.clone(),
            driver: self.driver.clone(),
            mountpoint: mountpoint.to_string_lossy().into_owned(),
            created_at: Some(self.created_at.clone()),
            labels: self.labels.clone(),
            scope: Some(VolumeScopeEnum::LOCAL),
            options: self.options.clone(),
            ..Volume::default()
        }
    }
}

/// Docker's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` — no slashes, no `..`
/// escaping the volumes directory, nothing hidden.
pub fn validate_name(name: &str) -> Result<(), VolumeError> {
    let bytes = name.as_bytes();
    let ok = bytes.len() >= 2
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(VolumeError::InvalidName {
            name: name.to_string(),
        })
    }
}

/// A 64-hex name, as Docker gives anonymous and unnamed volumes.
pub fn generate_name() -> String {
    crate::containers::names::new_id()
}

/// Checks the local driver's options: `type`, `o` and `device`, all or none of type/device.
pub fn validate_options(options: &HashMap<String, String>) -> Result<(), VolumeError> {
    if let Some(key) = options
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "o" | "device"))
    {
        return Err(VolumeError::InvalidDriverOpt { key: key.clone() });
    }
    if !options.is_empty() && !options.contains_key("type") {
        return Err(VolumeError::InvalidLocalOptions {
            reason: "missing required option: \"type\"",
        });
    }
    if options.contains_key("type") && !options.contains_key("device") {
        return Err(VolumeError::InvalidLocalOptions {
            reason: "missing required option: \"device\"",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["data", "my-vol_1.x", "a1", &generate_name()] {
            validate_name(good).unwrap();
        }
        for bad in [
            "", "a", "../x", "..", ".hidden", "_x", "a/b", "a b", "x\0y", "-x",
        ] {
            assert!(
                matches!(validate_name(bad), Err(VolumeError::InvalidName { .. })),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn local_options_are_checked() {
        let opts = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        validate_options(&opts(&[])).unwrap();
        validate_options(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m"),
        ]))
        .unwrap();
        assert!(validate_options(&opts(&[("color", "red")])).is_err());
        assert!(validate_options(&opts(&[("o", "size=1m")])).is_err());
        assert!(validate_options(&opts(&[("type", "tmpfs")])).is_err());
    }
}
