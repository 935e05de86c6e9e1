//! Daemon start: mount every container's rootfs again (a reboot or an unmount may have taken
//! it), watch the shims still alive, and record the ends of those that finished meanwhile.

use std::path::Path;
use std::sync::Arc;

use crate::Engine;

/// Whether `path` is a mount point (in our mount namespace).
fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mount_point| mount_point == target)
}

/// Whether `pid` is (still) the supervising shim of container `id`, not a recycled pid.
fn is_shim_of(pid: i32, id: &str) -> bool {
    pid > 0
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
            let mut args = cmdline.split(|&b| b == 0);
            args.clone().any(|a| a == b"--supervise") && args.any(|a| a == id.as_bytes())
        })
}

impl Engine {
    pub fn restore(self: &Arc<Self>) {
        for container in self.containers.all() {
            let id = container.id.clone();
            let rootfs = self.paths.rootfs(&id);
            if !is_mounted(&rootfs) {
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
            let state = container.snapshot().state;
            if !state.status.is_live() {
                continue;
            }
            if is_shim_of(state.shim_pid, &id) {
                self.watch_shim(&container, state.shim_pid);
            } else {
                self.shim_exited(&id, state.shim_pid);
            }
        }
    }
}
