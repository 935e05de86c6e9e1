//! The one error type of this crate: every variant names the file, field or rule involved.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: cannot parse {what} from {content:?}")]
    Parse {
        path: PathBuf,
        what: &'static str,
        content: String,
    },
    #[error("no cgroup v1 or v2 mount found in /proc/self/mountinfo")]
    NoCgroupMounts,
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("creating cgroup directory {path}: {source}")]
    Mkdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The kernel rejected a write to a cgroup file (EPERM/EINVAL/ENOENT/...).
    #[error("writing {value:?} to {path}: the kernel/VM refused it ({source}){hint}", hint = write_hint(source))]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    /// A limit was requested for a controller this host does not have mounted.
    #[error(
        "{field} was requested but the cgroup v1 controller {controller:?} is not mounted on this host"
    )]
    ControllerMissing {
        controller: &'static str,
        field: &'static str,
    },
    #[error("linux.resources.unified ({key:?}) needs cgroup v2, but this host uses cgroup v1")]
    UnifiedOnV1 { key: String },
    #[error("linux.resources.unified key {key:?} is not a valid cgroup v2 file name")]
    InvalidUnifiedKey { key: String },
    #[error("invalid value for {field}: {value}: {reason}")]
    InvalidResource {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("invalid device cgroup rule {rule}: {reason}")]
    InvalidDeviceRule { rule: String, reason: &'static str },
    #[error("{path} did not reach state {wanted} within {millis} ms (last seen {last:?})")]
    FreezeTimeout {
        path: PathBuf,
        wanted: &'static str,
        last: String,
        millis: u64,
    },
    #[error("removing cgroup directories failed: {}", format_failures(failures))]
    Destroy { failures: Vec<RemoveFailure> },
    #[error("bpf({op}) failed: {source}{}", verifier_log(log))]
    Bpf {
        op: &'static str,
        #[source]
        source: io::Error,
        log: String,
    },
    #[error("opening cgroup directory {path} for the device program: {source}")]
    OpenCgroupDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One directory `destroy` could not remove.
#[derive(Debug)]
pub struct RemoveFailure {
    pub path: PathBuf,
    pub source: io::Error,
}

fn format_failures(failures: &[RemoveFailure]) -> String {
    let parts: Vec<String> = failures
        .iter()
        .map(|f| format!("{}: {}", f.path.display(), f.source))
        .collect();
    parts.join("; ")
}

fn verifier_log(log: &str) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("; verifier log: {}", log.trim_end())
    }
}

fn write_hint(source: &io::Error) -> &'static str {
    match source.raw_os_error() {
        Some(libc::ENOENT) => "; the file does not exist: this kernel does not offer that knob",
        Some(libc::EPERM) | Some(libc::EACCES) => {
            "; permission denied (the VM withholds this capability or the parent forbids it)"
        }
        Some(libc::EINVAL) => "; the value is not accepted by this kernel",
        Some(libc::EBUSY) => "; the cgroup is busy",
        Some(libc::ENODEV) => "; no such device on this host",
        Some(libc::EOPNOTSUPP) => "; not supported here (e.g. the disk's I/O scheduler is not BFQ)",
        _ => "",
    }
}

impl CgroupError {
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        CgroupError::Read {
            path: path.into(),
            source,
        }
    }
}
