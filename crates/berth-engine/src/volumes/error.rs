//! What can go wrong with volumes and the mounts built from them.

use std::path::PathBuf;

use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error(
        "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    InvalidName { name: String },
    #[error("get {name}: no such volume")]
    NotFound { name: String },
    #[error("remove {name}: volume is in use - [{}]", containers.join(", "))]
    InUse {
        name: String,
        containers: Vec<String>,
    },
    #[error("volume {name} already exists with driver {existing}, not {wanted}")]
    DriverConflict {
        name: String,
        existing: String,
        wanted: String,
    },
    #[error(
        "error looking up volume plugin {driver}: plugin \"{driver}\" not found (only the \"local\" driver is built in)"
    )]
    UnknownDriver { driver: String },
    #[error("invalid option {key:?} for the local volume driver (known: type, o, device)")]
    InvalidDriverOpt { key: String },
    #[error("local volume driver: {reason}")]
    InvalidLocalOptions { reason: &'static str },
    #[error("invalid mount spec {spec:?}: {reason}")]
    InvalidSpec { spec: String, reason: &'static str },
    #[error("invalid mount config for type {typ:?}: {reason}")]
    InvalidMount { typ: String, reason: String },
    #[error("path {} is mounted on {} but it is not {needs} mount.", path.display(), mount_point.display())]
    PropagationUnavailable {
        path: PathBuf,
        mount_point: PathBuf,
        needs: &'static str,
    },
    #[error("Duplicate mount point: {destination}")]
    DuplicateMountPoint { destination: String },
    #[error("volumes-from {container}: {reason}")]
    VolumesFrom { container: String, reason: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("copying the image's content at {path} into the volume: {source}")]
    CopyUp {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl VolumeError {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> VolumeError {
        let path = path.into();
        move |source| VolumeError::Io { what, path, source }
    }
}

impl HasKind for VolumeError {
    fn kind(&self) -> ErrorKind {
        match self {
            VolumeError::NotFound { .. } => ErrorKind::NotFound,
            VolumeError::InUse { .. } | VolumeError::DriverConflict { .. } => ErrorKind::Conflict,
            VolumeError::Io { .. } | VolumeError::Corrupt { .. } | VolumeError::CopyUp { .. } => {
                ErrorKind::System
            }
            VolumeError::VolumesFrom { reason, .. } if reason.starts_with("No such container") => {
                ErrorKind::NotFound
            }
            _ => ErrorKind::InvalidArgument,
        }
    }
}
