//! `update`: new resource limits for a live container.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::ContainerId;
use super::lookup::{self, LookupError};
use super::record::Status;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("cgroup: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
}

pub fn update(
    root: &Path,
    id: &ContainerId,
    resources: &LinuxResources,
) -> Result<(), UpdateError> {
    let found = lookup::find(root, id)?;
    if found.status == Status::Stopped {
        return Err(UpdateError::NotRunning { id: id.to_string() });
    }
    berth_cgroups::manager(&found.record.cgroups_path)?.set(resources)?;
    Ok(())
}
