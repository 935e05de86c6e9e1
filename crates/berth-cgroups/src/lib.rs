//! Cgroups v1 (including hybrid hosts) and v2 behind one interface.
//!
//! The runtime asks for a [`Manager`] for a container's cgroup path and never branches on the
//! cgroup version itself. Host detection reads /proc once per process and is cached.

mod detect;
mod devices;
mod error;
mod fs;
mod path;
pub mod stats;
mod sys;
mod v1;
mod v2;

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

pub use detect::V1Mount;
pub use error::{CgroupError, RemoveFailure};
pub use stats::Stats;

/// Which cgroup layout the host uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// One hierarchy per controller under `/sys/fs/cgroup/<controller>` (a v2 mount at
    /// `/sys/fs/cgroup/unified` with few or no controllers may exist beside it: "hybrid").
    V1 { root: PathBuf },
    /// The unified hierarchy mounted at `root`.
    V2 { root: PathBuf },
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
    fn apply(&self, pid: i32) -> Result<(), CgroupError> {
        self.create()?;
        self.enter(pid)
    }
    /// Moves `pid` into the cgroup, which [`Manager::create`] made.
    fn enter(&self, pid: i32) -> Result<(), CgroupError>;
    /// Creates the cgroup's directories without moving any process (limits can then be `set`
    /// before the first process joins).
    fn create(&self) -> Result<(), CgroupError>;
    /// Moves the calling thread into the (created) cgroup. Call it from a single-threaded
    /// process: on v1 it writes `0` to `tasks`, which the kernel (5.19+) handles without the
    /// global threadgroup lock whose write side waits for an RCU grace period — several
    /// milliseconds per container start on a busy host when the parent writes a pid instead.
    fn join_self(&self) -> Result<(), CgroupError>;
    /// Where a child can be born in the cgroup (v2: `clone3(CLONE_INTO_CGROUP)`, so it never
    /// migrates): creates the cgroup like [`Manager::create`] and returns an open descriptor
    /// of it. `None` on v1, where nothing is created here and the child calls
    /// [`Manager::join_self`] instead.
    fn create_clone_target(&self) -> Result<Option<std::os::fd::OwnedFd>, CgroupError> {
        Ok(None)
    }
    /// Writes the resource limits (call after `apply`, which creates the directories); on v1
    /// also the device allow list, on v2 the eBPF device program. Zero/unset fields are not
    /// written; a requested limit the host cannot apply is an error, never skipped.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError>;
    fn freezer_state(&self) -> Result<FreezerState, CgroupError>;
    /// Every pid in the cgroup (and its descendants).
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Usage counters; `serde_json::to_value` gives runc's `events --stats` `data` shape.
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// How many times the kernel's OOM killer killed a task in this cgroup.
    fn oom_kill_count(&self) -> Result<u64, CgroupError>;
    /// Removes the cgroup directories (the caller has killed the processes).
    fn destroy(&self) -> Result<(), CgroupError>;
    /// The container's cgroup directories: `(controllers, dir)`; on v2 one entry `("", dir)`.
    fn paths(&self) -> Vec<(String, PathBuf)>;
}

/// Detects the host's hierarchy from `/proc/self/mountinfo` (cached after the first call).
pub fn detect() -> Result<Hierarchy, CgroupError> {
    Ok(detect::host()?.hierarchy.clone())
}

/// The host's cgroup v1 hierarchy mounts (empty on a pure v2 host), from the same cached read of
/// `/proc/self/mountinfo` as [`detect`]: a forked container init reuses its parent's copy.
pub fn v1_mounts() -> Result<&'static [V1Mount], CgroupError> {
    Ok(&detect::host()?.v1)
}

/// The manager for `cgroups_path` (the spec's `linux.cgroupsPath`: absolute paths are relative
/// to the hierarchy root, relative ones to this process's own cgroup), on the host's hierarchy.
/// Paths that would leave the hierarchy (`..`) or name its root are rejected.
pub fn manager(cgroups_path: &str) -> Result<Box<dyn Manager>, CgroupError> {
    let host = detect::host()?;
    let path = path::CgroupPath::parse(cgroups_path)?;
    Ok(match &host.hierarchy {
        Hierarchy::V1 { .. } => Box::new(v1::V1Manager::new(host, &path)),
        Hierarchy::V2 { root } => {
            let own = host.own_paths.get("").map_or("/", String::as_str);
            Box::new(v2::V2Manager::new(
                root.clone(),
                path.resolve(root, "/", own),
            ))
        }
    })
}

/// A v2 manager on an explicitly given unified mount (e.g. the controller-less
/// `/sys/fs/cgroup/unified` of a hybrid host, where freezing, process listing and eBPF device
/// programs work). `cgroups_path` is validated like in [`manager`] and taken relative to `root`.
pub fn v2_manager_at(
    root: impl Into<PathBuf>,
    cgroups_path: &str,
) -> Result<Box<dyn Manager>, CgroupError> {
    let path = path::CgroupPath::parse(cgroups_path)?;
    let root = root.into();
    let dir = root.join(&path.relative);
    Ok(Box::new(v2::V2Manager::new(root, dir)))
}

impl std::fmt::Debug for dyn Manager + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("paths", &self.paths())
            .finish()
    }
}
