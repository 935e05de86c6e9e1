//! `DELETE /containers/{id}`: refuse a live container unless forced (then kill it first),
//! unmount and remove the snapshot, the container's directories and its record. Best-effort
//! and complete: every step runs, the first failure is reported. A removal is written down
//! (`REMOVAL_MARKER`) before its first destructive step, so a daemon that dies half-way
//! finishes it at its next start.

use std::sync::Arc;
use std::time::Duration;

use super::ContainerError;
use super::wait::{Happened, WaitCondition};
use crate::Engine;
use crate::events::Event;

/// How long a forced remove waits for the killed container to be gone.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// In the container's directory while a removal is under way; says whether `-v` was given.
pub(super) const REMOVAL_MARKER: &str = "removal-pending";
const WITH_VOLUMES: &str = "volumes";

/// The removal a previous daemon began for the container in `dir`: `Some(remove anonymous
/// volumes)` when there is one to finish.
pub(super) fn pending_removal(dir: &std::path::Path) -> Option<bool> {
    std::fs::read_to_string(dir.join(REMOVAL_MARKER))
        .ok()
        .map(|flag| flag.trim() == WITH_VOLUMES)
}

impl Engine {
    /// `volumes` (`-v`) also removes the container's anonymous volumes.
    pub fn remove_container(
        self: &Arc<Self>,
        name: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), ContainerError> {
        let container = self.containers.get(name)?;
        let id = container.id.clone();
        {
            let record = container.lock();
            let status = record.state.status;
            if status.is_live() && !force {
                return Err(ContainerError::RemoveLive {
                    name: record.name.clone(),
                    status: status.as_str(),
                });
            }
            if !container.set_removing() {
                return Err(ContainerError::RemovalInProgress { id });
            }
        }
        let marker = container.dir.join(REMOVAL_MARKER);
        let flag = if volumes { WITH_VOLUMES } else { "" };
        if let Err(source) = super::sync_later::write(&marker, flag.as_bytes(), 0o600) {
            container.clear_removing();
            return Err(ContainerError::Io {
                what: "writing",
                path: marker,
                source,
            });
        }
        // A restart waiting out its back-off must not race the removal.
        if let Err(e) = self.cancel_restart(&container) {
            tracing::warn!(container = %id, error = %e, "cancelling a pending restart");
        }
        if container.snapshot().state.status.is_live()
            && let Err(e) = self.force_kill(&container)
        {
            // Not removed after all: the next daemon must not finish it either.
            let _ = std::fs::remove_file(&marker);
            container.clear_removing();
            return Err(e);
        }
        crate::fault::point("remove:after-kill");
        let mut failures: Vec<ContainerError> = Vec::new();
        // Normally done at exit already; idempotent, and complete after a crash.
        self.detach_network(&id);
        let rootfs = self.paths.rootfs(&id);
        if let Err(source) = berth_store::snapshot::unmount(&rootfs)
            && source.raw_os_error() != Some(libc::EINVAL)
            && source.kind() != std::io::ErrorKind::NotFound
        {
            failures.push(ContainerError::Io {
                what: "unmounting",
                path: rootfs,
                source,
            });
        }
        match self.store.snapshots.remove(&id) {
            Ok(()) | Err(berth_store::snapshot::SnapshotError::KeyMissing { .. }) => {}
            Err(e) => failures.push(ContainerError::Snapshot {
                id: id.clone(),
                source: Box::new(e.into()),
            }),
        }
        crate::fault::point("remove:after-snapshot");
        if let Err(e) = self.release_mounts(&id, volumes) {
            failures.push(e.into());
        }
        // The record goes first: a daemon dying while the directory is deleted then finds
        // no record and undoes the rest, instead of a container with half its files.
        let record_file = container.dir.join(super::record::RECORD_FILE);
        match std::fs::remove_file(&record_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => failures.push(ContainerError::Io {
                what: "removing",
                path: record_file,
                source,
            }),
        }
        for dir in [self.paths.shim_state(&id), self.paths.container(&id)] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => failures.push(ContainerError::Io {
                    what: "removing",
                    path: dir,
                    source,
                }),
            }
        }
        self.containers.remove(&id);
        self.forget_restarts_and_health(&id);
        let attrs = super::event_attrs(&container.snapshot());
        for attacher in container.take_attachers() {
            attacher(Err(ContainerError::Removed));
        }
        container.notify(Happened::Removed);
        self.events
            .publish(Event::new("container", "destroy", &id, attrs));
        match failures.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }

    /// SIGKILL through the shim, then wait until the monitor recorded the exit.
    fn force_kill(self: &Arc<Self>, container: &super::Container) -> Result<(), ContainerError> {
        match self.signal_container(container, libc::SIGKILL) {
            Ok(()) | Err(ContainerError::NotRunning { .. }) => {}
            Err(e) => return Err(e),
        }
        if container.snapshot().state.status == super::Status::Paused {
            // A frozen process never acts on its SIGKILL: thaw it (Docker does the same).
            if let Ok(cid) = berth_runtime::container::ContainerId::parse(&container.id) {
                let _ = berth_runtime::container::resume(&self.paths.runtime_root(), &cid);
            }
        }
        if container
            .wait_blocking(WaitCondition::NotRunning, Some(KILL_WAIT))
            .is_none()
        {
            return Err(ContainerError::Shim {
                id: container.id.clone(),
                message: format!("the container did not exit within {KILL_WAIT:?} of SIGKILL"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_removal_marker() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pending_removal(dir.path()), None);
        std::fs::write(dir.path().join(REMOVAL_MARKER), "").unwrap();
        assert_eq!(pending_removal(dir.path()), Some(false));
        std::fs::write(dir.path().join(REMOVAL_MARKER), WITH_VOLUMES).unwrap();
        assert_eq!(pending_removal(dir.path()), Some(true));
    }
}
