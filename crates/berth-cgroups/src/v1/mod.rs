//! cgroup v1: one directory per mounted hierarchy (co-mounted controllers share one).

mod blkio;
mod cpu;
mod cpuacct;
mod cpuset;
mod devices;
mod freezer;
mod hugetlb;
mod memory;
mod net;
pub(crate) mod pids;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::detect::HostCgroups;
use crate::path::CgroupPath;
use crate::stats::Stats;
use crate::{CgroupError, FreezerState, Manager, fs};

/// One container's directory in one v1 hierarchy.
#[derive(Debug, Clone)]
struct ControllerDir {
    controllers: Vec<String>,
    mountpoint: PathBuf,
    dir: PathBuf,
}

pub(crate) struct V1Manager {
    dirs: Vec<ControllerDir>,
}

impl V1Manager {
    pub fn new(host: &HostCgroups, path: &CgroupPath) -> Self {
        let dirs = host
            .v1
            .iter()
            .map(|mount| {
                let own = mount
                    .controllers
                    .iter()
                    .find_map(|c| host.own_paths.get(c))
                    .map_or("/", String::as_str);
                ControllerDir {
                    controllers: mount.controllers.clone(),
                    mountpoint: mount.mountpoint.clone(),
                    dir: path.resolve(&mount.mountpoint, &mount.root, own),
                }
            })
            .collect();
        V1Manager { dirs }
    }

    /// The container's directory for `controller`, if that controller is mounted.
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == controller))
            .map(|d| d.dir.as_path())
    }

    /// The directory for `controller`, or an error naming the resource that needed it.
    fn require(&self, controller: &'static str, field: &'static str) -> Result<&Path, CgroupError> {
        self.dir(controller)
            .ok_or(CgroupError::ControllerMissing { controller, field })
    }

    /// Where to list processes: any hierarchy holds them all; prefer pids, then freezer.
    fn procs_dir(&self) -> Option<&Path> {
        ["pids", "freezer", "memory", "devices"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.first().map(|d| d.dir.as_path()))
    }
}

impl Manager for V1Manager {
    fn enter(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for entry in &self.dirs {
            fs::write(&entry.dir, "cgroup.procs", &pid)?;
        }
        Ok(())
    }

    fn create(&self) -> Result<(), CgroupError> {
        for entry in &self.dirs {
            if entry.controllers.iter().any(|c| c == "cpuset") {
                cpuset::create_with_parent_values(&entry.mountpoint, &entry.dir)?;
            } else {
                fs::create_dir_all(&entry.dir)?;
            }
        }
        Ok(())
    }

    fn join_self(&self) -> Result<(), CgroupError> {
        for entry in &self.dirs {
            fs::write(&entry.dir, "tasks", "0")?;
        }
        Ok(())
    }

    /// Same controller order as runc: cpuset and devices first, memory before cpu.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        // Refuse before writing anything: half-applied limits would be worse.
        if let Some(key) = resources.unified().as_ref().and_then(|u| u.keys().next()) {
            return Err(CgroupError::UnifiedOnV1 { key: key.clone() });
        }
        if let Some(cpu) = resources.cpu() {
            cpuset::set(self.dir("cpuset"), cpu)?;
        }
        if let Some(rules) = resources.devices() {
            devices::set(self.require("devices", "linux.resources.devices")?, rules)?;
        }
        if let Some(memory) = resources.memory() {
            memory::set(self.dir("memory"), memory)?;
        }
        if let Some(cpu) = resources.cpu() {
            cpu::set(self.dir("cpu"), cpu)?;
        }
        if let Some(pids) = resources.pids() {
            pids::set(self.dir("pids"), pids)?;
        }
        if let Some(block_io) = resources.block_io() {
            blkio::set(self.dir("blkio"), block_io)?;
        }
        if let Some(limits) = resources.hugepage_limits() {
            hugetlb::set(self.dir("hugetlb"), limits)?;
        }
        if let Some(network) = resources.network() {
            net::set(self.dir("net_cls"), self.dir("net_prio"), network)?;
        }
        Ok(())
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        freezer::set(self.require("freezer", "freeze")?, state)
    }

    fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        freezer::state(self.require("freezer", "freezer state")?)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        match self.procs_dir() {
            Some(dir) => fs::pids_recursive(dir),
            None => Err(CgroupError::NoCgroupMounts),
        }
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut stats = Stats::default();
        if let Some(dir) = self.dir("cpuacct") {
            cpuacct::stats(dir, &mut stats.cpu.usage)?;
        }
        if let Some(dir) = self.dir("cpu") {
            cpu::stats(dir, &mut stats.cpu.throttling)?;
        }
        if let Some(dir) = self.dir("memory") {
            stats.memory = memory::stats(dir)?;
        }
        if let Some(dir) = self.dir("pids") {
            stats.pids = pids::stats(dir)?;
        }
        if let Some(dir) = self.dir("blkio") {
            stats.blkio = blkio::stats(dir)?;
        }
        if let Some(dir) = self.dir("hugetlb") {
            stats.hugetlb = hugetlb::stats(dir)?;
        }
        Ok(stats)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        memory::oom_kill_count(self.require("memory", "oom_kill_count")?)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        let mut failures = Vec::new();
        for entry in &self.dirs {
            fs::remove_tree(&entry.dir, &mut failures);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(CgroupError::Destroy { failures })
        }
    }

    fn paths(&self) -> Vec<(String, PathBuf)> {
        self.dirs
            .iter()
            .map(|d| (d.controllers.join(","), d.dir.clone()))
            .collect()
    }
}

/// The controller directory a requested limit needs, or an error naming the limit.
fn require_dir<'a>(
    dir: Option<&'a Path>,
    controller: &'static str,
    field: &'static str,
) -> Result<&'a Path, CgroupError> {
    dir.ok_or(CgroupError::ControllerMissing { controller, field })
}
