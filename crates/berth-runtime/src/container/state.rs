//! `state`: runc's JSON for one container.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ContainerId;
use super::lookup::{self, Found, LookupError};
use super::record::Status;

/// runc's `state`/`list --format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

impl From<&Found> for ContainerState {
    fn from(found: &Found) -> ContainerState {
        let r = &found.record;
        ContainerState {
            oci_version: r.oci_version.clone(),
            id: r.id.clone(),
            // runc reports pid 0 once the container has stopped.
            pid: if found.status == Status::Stopped {
                0
            } else {
                r.pid
            },
            status: found.status.to_string(),
            bundle: r.bundle.clone(),
            rootfs: r.rootfs.clone(),
            created: r.created.clone(),
            owner: r.owner.clone(),
            annotations: r.annotations.clone(),
        }
    }
}

pub fn state(root: &Path, id: &ContainerId) -> Result<ContainerState, LookupError> {
    Ok(ContainerState::from(&lookup::find(root, id)?))
}
