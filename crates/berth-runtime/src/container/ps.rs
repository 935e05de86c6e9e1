//! `ps`: the container's processes (from its cgroup).

use std::path::Path;

use super::ContainerId;
use super::lookup::{self, LookupError};
use super::record::Status;

#[derive(Debug, thiserror::Error)]
pub enum PsError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("listing the cgroup's processes: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
}

/// Pids (host view) of every process in the container's cgroup, sorted.
pub fn ps(root: &Path, id: &ContainerId) -> Result<Vec<i32>, PsError> {
    let found = lookup::find(root, id)?;
    if found.status == Status::Stopped {
        return Err(PsError::NotRunning { id: id.to_string() });
    }
    let mut pids = berth_cgroups::manager(&found.record.cgroups_path)?.pids()?;
    pids.sort_unstable();
    Ok(pids)
}
