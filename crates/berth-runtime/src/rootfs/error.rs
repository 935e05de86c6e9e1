//! Errors of the rootfs steps: each names the mount, path or key involved and the failed call.

use std::path::PathBuf;

pub use super::sys::SysError;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("linux.rootfsPropagation: unknown value {value:?}")]
    UnknownPropagation { value: String },
    #[error("setting mount propagation of {}", path.display())]
    Propagation {
        path: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("bind-mounting the rootfs {} onto itself", rootfs.display())]
    RootfsBind {
        rootfs: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("mounts[{index}] ({kind} on {})", destination.display())]
    Mount {
        index: usize,
        kind: String,
        destination: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("mounts[{index}] ({kind} on {}) rejected: {reason}", destination.display())]
    InvalidMount {
        index: usize,
        kind: String,
        destination: PathBuf,
        reason: MountRejection,
    },
    #[error("cgroup mount on {}: reading {}", destination.display(), file.display())]
    CgroupInfo {
        destination: PathBuf,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cgroup mount on {}: finding the host's cgroup hierarchies", destination.display())]
    CgroupHierarchies {
        destination: PathBuf,
        #[source]
        source: berth_cgroups::CgroupError,
    },
    #[error("device {}", path.display())]
    Device {
        path: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("linux.devices: {} rejected: {reason}", path.display())]
    InvalidDevice {
        path: PathBuf,
        reason: DeviceRejection,
    },
    #[error("setting up {}", path.display())]
    DevSetup {
        path: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("switching root to {}", rootfs.display())]
    Pivot {
        rootfs: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("linux.sysctl {key:?} rejected: {reason}")]
    InvalidSysctl {
        key: String,
        reason: SysctlRejection,
    },
    #[error("linux.sysctl {key:?}")]
    Sysctl {
        key: String,
        #[source]
        source: SysError,
    },
    #[error("linux.maskedPaths {}", path.display())]
    MaskPath {
        path: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("/dev/null is not the null device (major {major}, minor {minor}): cannot mask paths")]
    FakeDevNull { major: u32, minor: u32 },
    #[error("linux.readonlyPaths {}", path.display())]
    ReadonlyPath {
        path: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("opening the new root / after pivot")]
    OpenRoot {
        #[source]
        source: SysError,
    },
    #[error("root.readonly: remounting / read-only")]
    ReadonlyRoot {
        #[source]
        source: SysError,
    },
}

/// Why a spec mount is refused before any syscall.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountRejection {
    #[error("a bind mount needs a source")]
    MissingSource,
    #[error("only proc (or a bind of a procfs) may be mounted on /proc")]
    NotProcOnProc,
    #[error("mounting inside /proc is only allowed on the lxcfs-emulated files")]
    InsideProc,
    #[error("{fs} must be mounted on an ordinary directory (no symlinks in the path)")]
    NotOrdinaryDirectory { fs: &'static str },
    #[error("option or path contains a NUL byte")]
    NulByte,
    #[error("idmapped mounts (idmap, ridmap, uidMappings) are not supported")]
    IdMapped,
}

/// Why a `linux.devices` entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceRejection {
    #[error("device paths must be under /dev")]
    OutsideDev,
    #[error("device type \"a\" (all) cannot be created")]
    TypeAll,
    #[error("major/minor number {0} out of range")]
    BadNumber(i64),
}

/// Why a `linux.sysctl` key is refused (only namespaced sysctls, like runc).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysctlRejection {
    #[error("malformed key (empty, `.`/`..` component or NUL)")]
    Malformed,
    #[error("needs a new IPC namespace")]
    NeedsIpcNamespace,
    #[error("needs a new network namespace")]
    NeedsNetNamespace,
    #[error("conflicts with the OCI `hostname` field")]
    Hostname,
    #[error("not in a separate kernel namespace")]
    NotNamespaced,
}
