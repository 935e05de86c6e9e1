//! `delete`: kill (with --force, or a never-started container), destroy the cgroup, run
//! poststop hooks, remove the state dir. Every failure is collected and reported.

use std::path::Path;

use super::ContainerId;
use super::cleanup::{self, TeardownErrors};
use super::lookup::{self, Found, LookupError};
use super::record::Status;
use crate::process::hooks;

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("cannot delete container {id} that is {status}: stop it first or use --force")]
    Running { id: String, status: Status },
    #[error("deleting {id}: {teardown}{}", .poststop.as_ref().map(|e| format!("; poststop hooks: {e}")).unwrap_or_default())]
    Teardown {
        id: String,
        teardown: TeardownErrors,
        poststop: Option<hooks::HookError>,
    },
}

pub fn delete(root: &Path, id: &ContainerId, force: bool) -> Result<(), DeleteError> {
    delete_found(lookup::find(root, id)?, force)
}

/// [`delete`] of a container already looked up.
pub(crate) fn delete_found(found: Found, force: bool) -> Result<(), DeleteError> {
    let id = &found.record.id;
    let alive = found.status != Status::Stopped;
    if matches!(found.status, Status::Running | Status::Paused) && !force {
        return Err(DeleteError::Running {
            id: id.to_string(),
            status: found.status,
        });
    }
    let pid = alive.then_some(found.record.pid);
    if alive {
        kill_cgroup(&found.record.cgroups_path, found.status == Status::Paused);
    }
    let mut errors = cleanup::teardown(pid, Some(&found.record.cgroups_path), None);
    let mut poststop = None;
    if let Some(list) = found
        .record
        .hooks
        .as_ref()
        .and_then(|h| h.poststop().clone())
        && !list.is_empty()
    {
        let state = serde_json::to_vec(&found.record.oci_state("stopped")).unwrap_or_default();
        poststop = hooks::run(&list, &state).err();
    }
    errors.extend(cleanup::teardown(None, None, Some(&found.dir)));
    if errors.is_empty() && poststop.is_none() {
        Ok(())
    } else {
        Err(DeleteError::Teardown {
            id: id.to_string(),
            teardown: TeardownErrors(errors),
            poststop,
        })
    }
}

/// SIGKILLs every process of the container's cgroup (exec'd ones included); a frozen cgroup is
/// thawed afterwards so the queued SIGKILLs are delivered.
fn kill_cgroup(path: &str, frozen: bool) {
    let Ok(manager) = berth_cgroups::manager(path) else {
        return;
    };
    for pid in manager.pids().unwrap_or_default() {
        let _ = crate::sys::proc::kill(pid, libc::SIGKILL);
    }
    if frozen {
        let _ = manager.freeze(berth_cgroups::FreezerState::Thawed);
    }
}
