//! What a container operation can fail with, and the Docker status class of each failure.

use std::path::PathBuf;

use crate::containers::LookupError;
use crate::containers::names::NameError;
use crate::containers::record::RecordError;
use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Network(#[from] crate::network::NetError),
    #[error("No such image: {name}")]
    NoSuchImage { name: String },
    #[error("image {name}: {source}")]
    Image {
        name: String,
        source: Box<berth_store::StoreError>,
    },
    #[error("reading the config of image {image}: {reason}")]
    ImageConfig { image: String, reason: String },
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse { name: String, id: String },
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Volume(#[from] crate::volumes::VolumeError),
    #[error("writing {path}: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("container id {id} is not a runtime id: {source}")]
    RuntimeId {
        id: String,
        source: berth_runtime::container::InvalidId,
    },
    #[error("container snapshot {id}: {source}")]
    Snapshot {
        id: String,
        source: Box<berth_store::StoreError>,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("starting the shim {path}: {source}")]
    ShimSpawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the shim for {id} failed: {message}")]
    Shim { id: String, message: String },
    /// The container's process could not be started (Docker's "failed to create task" family).
    #[error("failed to create task for container: {message}")]
    StartFailed { message: String, exit_code: i32 },
    #[error("container {id} is already running")]
    AlreadyRunning { id: String },
    #[error("container {id} is already stopped")]
    AlreadyStopped { id: String },
    #[error("Container {id} is not running")]
    NotRunning { id: String },
    #[error("Container {id} is paused, unpause the container before stopping or killing")]
    Paused { id: String },
    #[error("Container {id} is not paused")]
    NotPaused { id: String },
    #[error(
        "cannot remove container \"/{name}\": container is {status}: stop the container before removing or force remove"
    )]
    RemoveLive { name: String, status: &'static str },
    #[error("removal of container {id} is already in progress")]
    RemovalInProgress { id: String },
    #[error("Invalid signal: {value}")]
    BadSignal { value: String },
    #[error("You cannot attach to a stopped container, start it first")]
    AttachStopped,
    #[error("talking to the shim of {id}: {source}")]
    Control {
        id: String,
        source: berth_shim::client::ClientError,
    },
    #[error("the shim of {id} refused {command}: {message}")]
    ControlRefused {
        id: String,
        command: &'static str,
        message: String,
    },
    #[error("{action} {id}: {source}")]
    Freezer {
        action: &'static str,
        id: String,
        source: berth_runtime::container::PauseError,
    },
    #[error("invalid filter {filter:?}: {reason}")]
    BadFilter { filter: String, reason: String },
    #[error("the container was removed before it started")]
    Removed,
    /// `--rm` with a restart policy: Docker's daemon refuses it at create (its CLI says
    /// "Conflicting options: --restart and --rm" before asking).
    #[error("can't create 'AutoRemove' container with restart policy")]
    AutoRemoveWithRestart,
}

impl HasKind for ContainerError {
    fn kind(&self) -> ErrorKind {
        use ContainerError as E;
        match self {
            E::Lookup(e) => e.kind(),
            E::Name(e) => e.kind(),
            E::Network(e) => e.kind(),
            E::NoSuchImage { .. } => ErrorKind::NotFound,
            E::NameInUse { .. }
            | E::NotRunning { .. }
            | E::Paused { .. }
            | E::NotPaused { .. }
            | E::RemoveLive { .. }
            | E::RemovalInProgress { .. }
            | E::AttachStopped
            | E::Removed => ErrorKind::Conflict,
            E::Spec(e) => e.kind(),
            E::Volume(e) => e.kind(),
            E::BadSignal { .. } | E::BadFilter { .. } | E::AutoRemoveWithRestart => {
                ErrorKind::InvalidArgument
            }
            // Docker answers 400 when the program is missing or not executable (a config
            // error), 500 for everything else that stops a start.
            E::StartFailed {
                exit_code: 126 | 127,
                ..
            } => ErrorKind::InvalidArgument,
            E::AlreadyRunning { .. } | E::AlreadyStopped { .. } => ErrorKind::NotModified,
            _ => ErrorKind::System,
        }
    }
}
