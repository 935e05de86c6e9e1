//! Container I/O and inspection: logs, exec, top, stats, export, changes, archive (`cp`).

pub mod archive;
pub mod changes;
pub mod detach_keys;
pub mod exec;
pub mod logs;
pub mod rootpath;
pub mod stats;
pub mod tarwalk;
pub mod top;

use crate::Engine;

/// The container's cgroup (`linux.cgroupsPath` of its OCI spec; the daemon's convention
/// `/berth/<id>` when the spec cannot be read).
pub fn cgroups_path(engine: &Engine, id: &str) -> String {
    berth_runtime::spec::load(&engine.paths.bundle(id))
        .ok()
        .and_then(|spec| spec.linux().as_ref()?.cgroups_path().clone())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("/berth/{id}"))
}
