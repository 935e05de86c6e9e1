//! Daemon start: repair what a crash left half-done (`repair`), mount every container's rootfs
//! again (a reboot or an unmount may have taken it), watch the shims still alive (and carry on
//! health-checking them), record the ends of those that finished meanwhile, and start the ones
//! their restart policy wants running.

use std::path::Path;
use std::sync::Arc;

use super::Container;
use super::record::{ContainerRecord, Status};
use crate::Engine;

/// Whether `path` is a mount point (in our mount namespace).
pub(super) fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mount_point| mount_point == target)
}

/// Whether `pid` is (still) the supervising shim of container `id`, not a recycled pid.
pub(super) fn is_shim_of(pid: i32, id: &str) -> bool {
    pid > 0
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
            let mut args = cmdline.split(|&b| b == 0);
            args.clone().any(|a| a == b"--supervise") && args.any(|a| a == id.as_bytes())
        })
}

impl Engine {
    pub fn restore(self: &Arc<Self>) {
        let shims = super::repair::running_shims();
        self.clean_orphan_dirs(&shims);
        // Networks first: DNS answers and port rules for the containers still running.
        let running: Vec<(String, i32)> = self
            .containers
            .all()
            .iter()
            .map(|c| c.snapshot())
            .filter(|r| r.state.status.is_live() && is_shim_of(r.state.shim_pid, &r.id))
            .map(|r| (r.id, r.state.pid))
            .collect();
        self.network.restore(&running);
        for container in self.containers.all() {
            let id = container.id.clone();
            let rootfs = self.paths.rootfs(&id);
            // A removal to finish may already have taken the snapshot.
            let removing = super::remove::pending_removal(&container.dir).is_some();
            if removing {
                // No restart policy may bring it back before `finish_removals`.
                container.set_removing();
            }
            if !removing && !is_mounted(&rootfs) {
                let mounted = self
                    .store
                    .snapshots
                    .mounts(&id)
                    .map_err(|e| e.to_string())
                    .and_then(|m| m.mount_at(&rootfs).map_err(|e| e.to_string()));
                if let Err(e) = mounted {
                    tracing::error!(container = %id, error = %e, "re-mounting the rootfs");
                }
            }
            let record = self.settle_pending_restart(&container);
            let state = &record.state;
            if let Some(&pid) = shims.get(&id)
                && !(state.status.is_live() && state.shim_pid == pid)
            {
                self.stop_stray_shim(&id, pid);
            }
            let alive = state.status.is_live() && is_shim_of(state.shim_pid, &id);
            self.health.restore(
                &id,
                &container.dir,
                alive && state.status == Status::Running,
            );
            if !state.status.is_live() {
                continue;
            }
            if alive {
                self.watch_shim(&container, state.shim_pid);
                if state.status == Status::Running {
                    // Probing carries on from the saved health (status, streak, log).
                    let config = &record.config;
                    let shell = config.shell.as_deref();
                    self.health
                        .start(self, &id, config.healthcheck.as_ref(), shell, true);
                }
            } else {
                self.shim_exited(&id, state.shim_pid);
            }
        }
        self.finish_removals();
        self.start_by_policy();
    }

    /// A restart that was pending when the last daemon died is not coming: the container is
    /// `exited` (its policy decides again below). The record, as it is now.
    fn settle_pending_restart(&self, container: &Container) -> ContainerRecord {
        let mut record = container.lock();
        if record.state.status == Status::Restarting {
            record.state.status = Status::Exited;
            if let Err(e) = record.save(&container.dir) {
                tracing::error!(container = %container.id, error = %e, "saving the record");
            }
        }
        record.clone()
    }
}
