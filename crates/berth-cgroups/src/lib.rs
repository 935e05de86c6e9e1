//! Cgroups v1 (including hybrid hosts) and v2 behind one interface.
//!
//! The runtime asks for a [`Manager`] for a container's cgroup path and never branches on the
//! cgroup version itself.

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

/// Which cgroup layout the host uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// One hierarchy per controller under `/sys/fs/cgroup/<controller>` (a v2 mount at
    /// `/sys/fs/cgroup/unified` with few or no controllers may exist beside it: "hybrid").
    V1 { root: PathBuf },
    /// The unified hierarchy mounted at `root`.
    V2 { root: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup operation not implemented yet: {0}")]
    Unimplemented(&'static str),
}

/// Whether the container's processes are frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    Frozen,
}

/// One container's cgroup, in whatever hierarchy the host has.
pub trait Manager: Send + Sync {
    /// Creates the cgroup (in every controller on v1) and moves `pid` into it.
    fn apply(&self, pid: i32) -> Result<(), CgroupError>;
    /// Writes the resource limits; on v1 also the device allow list, on v2 the eBPF device program.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError>;
    fn freezer_state(&self) -> Result<FreezerState, CgroupError>;
    /// Every pid in the cgroup (and its descendants).
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Usage counters in runc's `events --stats` shape.
    fn stats(&self) -> Result<serde_json::Value, CgroupError>;
    /// How many times the kernel's OOM killer killed a task in this cgroup.
    fn oom_kill_count(&self) -> Result<u64, CgroupError>;
    /// Removes the cgroup directories (the caller has killed the processes).
    fn destroy(&self) -> Result<(), CgroupError>;
}

/// Detects the host's hierarchy by reading `/proc/self/mountinfo`.
pub fn detect() -> Result<Hierarchy, CgroupError> {
    Err(CgroupError::Unimplemented("detect"))
}

/// The manager for `cgroups_path` (the spec's `linux.cgroupsPath`, absolute, relative to the
/// hierarchy root), on the host's hierarchy.
pub fn manager(cgroups_path: &str) -> Result<Box<dyn Manager>, CgroupError> {
    let _ = cgroups_path;
    Err(CgroupError::Unimplemented("manager"))
}
