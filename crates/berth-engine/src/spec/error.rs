//! What can go wrong turning a container config into a runtime spec. Bad user input (an unknown
//! user, capability, flag or profile) is `InvalidArgument`; failing to read the host is `System`.

use std::path::PathBuf;

use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command specified")]
    NoCommand,
    #[error("the working directory '{dir}' is invalid, it needs to be an absolute path")]
    RelativeWorkingDir { dir: String },
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UnknownUser { name: String },
    #[error("unable to find group {name}: no matching entries in group file")]
    UnknownGroup { name: String },
    #[error("{what} {id} is out of range (0..=2147483647)")]
    IdOutOfRange { what: &'static str, id: i64 },
    #[error("reading {path} in the container's rootfs: {source}")]
    ReadRootfsFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown capability: {name:?}")]
    UnknownCapability { name: String },
    #[error("invalid --security-opt: {opt:?} ({reason})")]
    InvalidSecurityOpt { opt: String, reason: &'static str },
    #[error("--security-opt {opt:?}: {reason}")]
    UnsupportedSecurityOpt { opt: String, reason: &'static str },
    #[error(
        "seccomp={given}: the daemon takes a profile's JSON contents, not a path (the client reads the file)"
    )]
    SeccompProfileNotJson { given: String },
    #[error("decoding seccomp profile: {source}")]
    ParseSeccompProfile { source: serde_json::Error },
    #[error("invalid seccomp profile: {reason}")]
    InvalidSeccompProfile { reason: String },
    #[error("invalid bind mount spec {spec:?}: {reason}")]
    InvalidBind { spec: String, reason: &'static str },
    #[error("volume {name:?}: named volumes are not supported here (use an absolute host path)")]
    NamedVolume { name: String },
    #[error("invalid tmpfs mount {destination:?}: {reason}")]
    InvalidTmpfs {
        destination: String,
        reason: &'static str,
    },
    #[error("duplicate mount point: {destination}")]
    DuplicateMount { destination: String },
    #[error("invalid device mapping {spec:?}: {reason}")]
    InvalidDevice { spec: String, reason: &'static str },
    #[error("error gathering device information while adding custom device {path:?}: {source}")]
    DeviceStat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid device cgroup rule {rule:?}: must be '<a|b|c> <major|*>:<minor|*> [rwm]'")]
    InvalidDeviceCgroupRule { rule: String },
    #[error("listing host devices under {path}: {source}")]
    HostDevices {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{option} mode {mode:?} is not supported")]
    UnsupportedMode { option: &'static str, mode: String },
    #[error("Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set")]
    ConflictingCpuOptions,
    #[error("invalid {field}: {value} ({reason})")]
    InvalidResource {
        field: &'static str,
        value: i64,
        reason: &'static str,
    },
    #[error("building the spec's {what}: {source}")]
    Build {
        what: &'static str,
        source: oci_spec::OciSpecError,
    },
    #[error("--init: the berth-init binary was not found at {looked_at} (set BERTH_INIT)")]
    InitNotFound { looked_at: PathBuf },
    #[error(
        "--init: {path} is dynamically linked; build it static: cargo rustc -p berth-init --bin berth-init -- -C target-feature=+crt-static"
    )]
    InitNotStatic { path: PathBuf },
    #[error("--init: reading {path}: {source}")]
    ReadInit {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid ulimit {name:?}: {reason}")]
    InvalidUlimit { name: String, reason: &'static str },
}

impl HasKind for SpecError {
    fn kind(&self) -> ErrorKind {
        match self {
            SpecError::ReadRootfsFile { .. }
            | SpecError::HostDevices { .. }
            | SpecError::Build { .. }
            | SpecError::InitNotFound { .. }
            | SpecError::InitNotStatic { .. }
            | SpecError::ReadInit { .. } => ErrorKind::System,
            _ => ErrorKind::InvalidArgument,
        }
    }
}
