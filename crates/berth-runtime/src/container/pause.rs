//! `pause` / `resume`: freeze and thaw the container's cgroup.

use std::path::Path;

use berth_cgroups::FreezerState;

use super::ContainerId;
use super::lookup::{self, LookupError};
use super::record::Status;

#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("container {id} is {status}; {action} needs it {needed}")]
    WrongStatus {
        id: String,
        status: Status,
        action: &'static str,
        needed: &'static str,
    },
    #[error("freezer: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
}

pub fn pause(root: &Path, id: &ContainerId) -> Result<(), PauseError> {
    set(root, id, FreezerState::Frozen)
}

pub fn resume(root: &Path, id: &ContainerId) -> Result<(), PauseError> {
    set(root, id, FreezerState::Thawed)
}

fn set(root: &Path, id: &ContainerId, target: FreezerState) -> Result<(), PauseError> {
    let found = lookup::find(root, id)?;
    let (ok, action, needed) = match target {
        FreezerState::Frozen => (
            matches!(found.status, Status::Running | Status::Created),
            "pause",
            "running or created",
        ),
        FreezerState::Thawed => (found.status == Status::Paused, "resume", "paused"),
    };
    if !ok {
        return Err(PauseError::WrongStatus {
            id: id.to_string(),
            status: found.status,
            action,
            needed,
        });
    }
    berth_cgroups::manager(&found.record.cgroups_path)?.freeze(target)?;
    Ok(())
}
