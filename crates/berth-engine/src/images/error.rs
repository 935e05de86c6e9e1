//! What can go wrong with an image operation, and which Docker error class each failure is.

use berth_registry::client::ClientError;
use berth_store::StoreError;
use berth_store::archive::ArchiveError;
use berth_store::content::ContentError;
use berth_store::snapshot::SnapshotError;

use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("No such image: {name}")]
    NotFound { name: String },
    #[error("{source}")]
    BadReference {
        name: String,
        source: berth_oci::ReferenceError,
    },
    #[error(
        "conflict: unable to remove repository reference {reference:?} (must force) - container {container} is using its referenced image {image}"
    )]
    ReferenceInUse {
        reference: String,
        container: String,
        image: String,
    },
    #[error(
        "conflict: unable to delete {image} ({}) - image is being used by {} container {container}",
        if *.running { "cannot be forced" } else { "must be forced" },
        if *.running { "running" } else { "stopped" }
    )]
    ImageInUse {
        image: String,
        container: String,
        running: bool,
    },
    #[error("invalid filter {name:?}{}", .value.as_ref().map(|v| format!(" with value {v:?}")).unwrap_or_default())]
    BadFilter { name: String, value: Option<String> },
    #[error("manifest for {reference} not found: {detail}")]
    ManifestNotFound { reference: String, detail: String },
    #[error("{reference}: {source}")]
    Registry {
        reference: String,
        source: Box<ClientError>,
    },
    #[error("image config {id} is not valid JSON: {source}")]
    BadConfig {
        id: String,
        source: serde_json::Error,
    },
    #[error("invalid --change {change:?}: {detail}")]
    BadChange { change: String, detail: String },
    #[error(transparent)]
    Container(#[from] crate::containers::LookupError),
    #[error("reading the changes of container {container}: {source}")]
    CommitDiff {
        container: String,
        source: std::io::Error,
    },
    #[error("{what} is not supported: {detail}")]
    Unsupported { what: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} stopped: {detail}")]
    Interrupted { what: &'static str, detail: String },
    #[error(transparent)]
    ImportSource(#[from] super::import_url::ImportUrlError),
}

impl HasKind for ImageError {
    fn kind(&self) -> ErrorKind {
        match self {
            ImageError::NotFound { .. } | ImageError::ManifestNotFound { .. } => {
                ErrorKind::NotFound
            }
            ImageError::BadReference { .. }
            | ImageError::BadFilter { .. }
            | ImageError::BadChange { .. }
            | ImageError::Unsupported { .. } => ErrorKind::InvalidArgument,
            ImageError::ReferenceInUse { .. } | ImageError::ImageInUse { .. } => {
                ErrorKind::Conflict
            }
            ImageError::Registry { source, .. } => registry_kind(source),
            ImageError::Container(e) => e.kind(),
            ImageError::BadConfig { .. }
            | ImageError::Interrupted { .. }
            | ImageError::CommitDiff { .. } => ErrorKind::System,
            ImageError::Store(e) => store_kind(e),
            ImageError::ImportSource(e) => e.kind(),
        }
    }
}

fn registry_kind(err: &ClientError) -> ErrorKind {
    match err {
        ClientError::Reference(_) => ErrorKind::InvalidArgument,
        ClientError::Unauthorized { .. } => ErrorKind::Unauthorized,
        ClientError::NoMatchingPlatform { .. } => ErrorKind::NotFound,
        _ => match err.status().map(|s| s.as_u16()) {
            Some(404) => ErrorKind::NotFound,
            Some(401 | 403) => ErrorKind::Unauthorized,
            _ => ErrorKind::System,
        },
    }
}

/// Malformed input (an archive, a layer, a digest that does not match) is the client's fault;
/// the store failing to write is ours.
fn store_kind(err: &StoreError) -> ErrorKind {
    use berth_store::images::ImageError as Records;
    match err {
        StoreError::Image(Records::NotFound { .. } | Records::Ambiguous { .. }) => {
            ErrorKind::NotFound
        }
        StoreError::Image(Records::MultipleRepositories { .. } | Records::InUse { .. }) => {
            ErrorKind::Conflict
        }
        StoreError::Image(Records::BadReference { .. }) => ErrorKind::InvalidArgument,
        StoreError::Image(_) | StoreError::Root { .. } => ErrorKind::System,
        StoreError::Content(e) => content_kind(e),
        StoreError::Snapshot(
            SnapshotError::Apply { .. } | SnapshotError::DiffIdMismatch { .. },
        ) => ErrorKind::InvalidArgument,
        StoreError::Snapshot(_) => ErrorKind::System,
        StoreError::Archive(ArchiveError::Write { .. }) => ErrorKind::System,
        StoreError::Archive(ArchiveError::Content { source, .. }) => content_kind(source),
        StoreError::Archive(_) => ErrorKind::InvalidArgument,
    }
}

fn content_kind(err: &ContentError) -> ErrorKind {
    match err {
        ContentError::DigestMismatch { .. }
        | ContentError::SizeMismatch { .. }
        | ContentError::TooLarge { .. } => ErrorKind::InvalidArgument,
        ContentError::NotFound { .. } => ErrorKind::NotFound,
        _ => ErrorKind::System,
    }
}

impl From<berth_store::images::ImageError> for ImageError {
    fn from(e: berth_store::images::ImageError) -> ImageError {
        ImageError::Store(e.into())
    }
}

impl From<ContentError> for ImageError {
    fn from(e: ContentError) -> ImageError {
        ImageError::Store(e.into())
    }
}

impl From<SnapshotError> for ImageError {
    fn from(e: SnapshotError) -> ImageError {
        ImageError::Store(e.into())
    }
}
