//! cgroup v2: one directory in the unified hierarchy; devices through an eBPF program.

mod cpu;
pub(crate) mod devicefilter;
mod devices;
mod freezer;
mod io;
mod memory;
mod plan;
mod stats;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::stats::Stats;
use crate::{CgroupError, FreezerState, Manager, fs};

pub(crate) struct V2Manager {
    /// The hierarchy (or delegated subtree) root: controllers are enabled below it.
    root: PathBuf,
    dir: PathBuf,
}

impl V2Manager {
    pub fn new(root: PathBuf, dir: PathBuf) -> Self {
        V2Manager { root, dir }
    }

    /// Creates each level below the root, enabling in every parent the controllers it offers so
    /// the container's directory gets them too (runc does the same).
    fn create_levels(&self) -> Result<(), CgroupError> {
        let Ok(relative) = self.dir.strip_prefix(&self.root) else {
            return fs::create_dir_all(&self.dir);
        };
        let mut parent = self.root.clone();
        for component in relative.components() {
            enable_controllers(&parent)?;
            parent.push(component);
            fs::create_dir_all(&parent)?;
        }
        Ok(())
    }
}

/// Enables in `dir/cgroup.subtree_control` what `dir/cgroup.controllers` offers and is not yet
/// enabled. One at a time on failure: a controller the kernel refuses (e.g. busy with
/// processes in `dir`) must not keep the others off.
fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let available = fs::read(dir, "cgroup.controllers")?;
    let enabled = fs::read(dir, "cgroup.subtree_control")?;
    let missing: Vec<&str> = available
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
    if fs::write(dir, "cgroup.subtree_control", &all.join(" ")).is_err() {
        for controller in all {
            let _ = fs::write(dir, "cgroup.subtree_control", &controller);
        }
    }
    Ok(())
}

impl Manager for V2Manager {
    fn enter(&self, pid: i32) -> Result<(), CgroupError> {
        fs::write(&self.dir, "cgroup.procs", &pid.to_string())
    }

    fn create(&self) -> Result<(), CgroupError> {
        self.create_levels()
    }

    /// v2 has no per-thread `tasks` file for domain cgroups: `0` in `cgroup.procs` moves the
    /// caller's whole (single-threaded) process. (`CLONE_INTO_CGROUP` would avoid even that.)
    fn join_self(&self) -> Result<(), CgroupError> {
        fs::write(&self.dir, "cgroup.procs", "0")
    }

    fn create_clone_target(&self) -> Result<Option<std::os::fd::OwnedFd>, CgroupError> {
        self.create_levels()?;
        fs::open_dir(&self.dir).map(Some)
    }

    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let bfq = self.dir.join("io.bfq.weight").exists();
        for (file, value) in plan::plan(resources, bfq)? {
            fs::write(&self.dir, &file, &value)?;
        }
        if let Some(rules) = resources.devices() {
            devices::set(&self.dir, rules)?;
        }
        Ok(())
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        freezer::set(&self.dir, state)
    }

    fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        freezer::state(&self.dir)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        fs::pids_recursive(&self.dir)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        stats::read(&self.dir)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        let events = fs::read_flat_keyed(&self.dir, "memory.events")?;
        Ok(events.get("oom_kill").copied().unwrap_or(0))
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        let mut failures = Vec::new();
        fs::remove_tree(&self.dir, &mut failures);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(CgroupError::Destroy { failures })
        }
    }

    fn paths(&self) -> Vec<(String, PathBuf)> {
        vec![(String::new(), self.dir.clone())]
    }
}
