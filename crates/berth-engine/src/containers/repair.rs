//! Daemon start: what a daemon that died mid-operation left half-done. A create that never
//! saved its record is undone; a removal that was written down is finished; a shim whose start
//! was never recorded is stopped. Either the container is fully there or fully gone.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::record::RECORD_FILE;
use super::remove::pending_removal;
use super::restore::{is_mounted, is_shim_of};
use crate::Engine;

/// How long a stray shim may take to go after its container was killed.
const SHIM_EXIT_WAIT: Duration = Duration::from_secs(10);

fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every `berth-shim --supervise` process by the container ID in its arguments.
pub(super) fn running_shims() -> HashMap<String, i32> {
    let mut shims = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if !args.contains(&&b"--supervise"[..]) {
            continue;
        }
        let id = args
            .iter()
            .filter_map(|a| std::str::from_utf8(a).ok())
            .find(|a| is_container_id(a));
        if let Some(id) = id {
            shims.insert(id.to_string(), pid);
        }
    }
    shims
}

impl Engine {
    /// Container directories without a record: a create that died before saving it (or a
    /// removal that died deleting the directory). Each is undone completely: its shim (if
    /// any), rootfs mount, snapshot, volume mounts (anonymous volumes it made go too, as a
    /// failed create's do), network, state directories. A record that is there but unreadable
    /// is left for a human.
    pub(super) fn clean_orphan_dirs(&self, shims: &HashMap<String, i32>) {
        let root = self.paths.containers();
        let known: std::collections::HashSet<String> =
            self.containers.all().iter().map(|c| c.id.clone()).collect();
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_container_id(&name) || known.contains(&name) {
                continue;
            }
            let dir = entry.path();
            match std::fs::symlink_metadata(dir.join(RECORD_FILE)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                _ => continue,
            }
            tracing::info!(container = %name, "undoing a create that did not finish");
            self.clean_orphan(&name, &dir, shims.get(&name).copied());
        }
    }

    fn clean_orphan(&self, id: &str, dir: &Path, shim: Option<i32>) {
        if let Some(pid) = shim {
            self.stop_stray_shim(id, pid);
        }
        let rootfs = self.paths.rootfs(id);
        if is_mounted(&rootfs)
            && let Err(e) = berth_store::snapshot::unmount(&rootfs)
        {
            tracing::error!(container = %id, error = %e, "unmounting a half-made rootfs");
        }
        match self.store.snapshots.remove(id) {
            Ok(()) | Err(berth_store::snapshot::SnapshotError::KeyMissing { .. }) => {}
            Err(e) => tracing::error!(container = %id, error = %e, "removing a half-made snapshot"),
        }
        if let Err(e) = self.release_mounts(id, true) {
            tracing::error!(container = %id, error = %e, "releasing a half-made container's volumes");
        }
        self.detach_network(id);
        let _ = std::fs::remove_dir_all(self.paths.shim_state(id));
        // Never through a rootfs still mounted: that would delete the snapshot's files.
        if is_mounted(&rootfs) {
            tracing::error!(container = %id, rootfs = %rootfs.display(), "still mounted; directory kept");
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::error!(container = %id, error = %e, "removing a half-made container");
        }
    }

    /// A shim supervising `id` that its record does not know (a start that died before saving
    /// "running"): the start never answered, so its run is stopped and the container stays as
    /// recorded. The shim deletes the runtime state and cgroup as its container ends.
    pub(super) fn stop_stray_shim(&self, id: &str, pid: i32) {
        tracing::info!(container = %id, shim = pid, "stopping a run that was never recorded");
        let state_dir = self.paths.shim_state(id);
        if let Err(e) =
            berth_shim::client::control(&state_dir, &format!("{{\"kill\":{}}}", libc::SIGKILL))
        {
            tracing::warn!(container = %id, error = %e, "asking a stray shim to kill its container");
        }
        let began = Instant::now();
        while is_shim_of(pid, id) && began.elapsed() < SHIM_EXIT_WAIT {
            std::thread::sleep(Duration::from_millis(20));
        }
        if is_shim_of(pid, id) {
            tracing::error!(container = %id, shim = pid, "a stray shim did not exit");
            return;
        }
        self.detach_network(id);
        let _ = std::fs::remove_dir_all(&state_dir);
    }

    /// Removals a previous daemon began: finished now, as they were asked (with or without
    /// `-v`).
    pub(super) fn finish_removals(self: &Arc<Self>) {
        for container in self.containers.all() {
            let Some(volumes) = pending_removal(&container.dir) else {
                continue;
            };
            tracing::info!(container = %container.id, "finishing a removal that did not finish");
            // Held since the restore began (no restart meanwhile); the removal takes it now.
            container.clear_removing();
            if let Err(e) = self.remove_container(&container.id, true, volumes) {
                tracing::error!(container = %container.id, error = %e, "finishing a removal");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_hex_ids_are_container_dirs() {
        assert!(is_container_id(&"ab".repeat(32)));
        assert!(!is_container_id("abc"));
        assert!(!is_container_id(&"zz".repeat(32)));
        assert!(!is_container_id(&format!("{}.tmp", "a".repeat(60))));
    }
}
