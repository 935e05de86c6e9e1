//! Progress of a pull or push as Docker's JSON message stream carries it: a status line,
//! optionally about one layer (`id`), optionally with byte counts. The API layer serializes.

use std::sync::Arc;

use berth_registry::client::{BlobRole, Progress, ProgressEvent, TransferState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressMessage {
    /// The layer's short ID, or the tag for the opening line; `None` for image-wide lines.
    pub id: Option<String>,
    pub status: String,
    /// (current, total) bytes.
    pub detail: Option<(u64, u64)>,
    /// Docker's `aux` payload (the push result: tag, digest, size).
    pub aux: Option<serde_json::Value>,
}

impl ProgressMessage {
    pub fn line(status: impl Into<String>) -> ProgressMessage {
        ProgressMessage {
            id: None,
            status: status.into(),
            detail: None,
            aux: None,
        }
    }

    pub fn layer(id: impl Into<String>, status: impl Into<String>) -> ProgressMessage {
        ProgressMessage {
            id: Some(id.into()),
            ..ProgressMessage::line(status)
        }
    }
}

/// Where progress goes; called from transfer tasks and the unpacking thread.
pub type ProgressFn = Arc<dyn Fn(ProgressMessage) + Send + Sync>;

/// Docker names a layer in progress output by the first 12 hex digits of its digest.
pub fn short_id(digest: &berth_oci::Digest) -> String {
    digest.hex().chars().take(12).collect()
}

/// Turns the registry client's per-blob events into Docker's layer lines (configs are not shown).
pub(crate) struct DockerProgress {
    pub out: ProgressFn,
    pub pushing: bool,
}

impl Progress for DockerProgress {
    fn event(&self, event: &ProgressEvent) {
        if event.role != BlobRole::Layer {
            return;
        }
        let id = short_id(&event.digest);
        let (status, detail) = match (event.state, self.pushing) {
            (TransferState::Waiting, false) => ("Pulling fs layer", None),
            (TransferState::Waiting, true) => ("Preparing", None),
            (TransferState::Downloading, _) => ("Downloading", Some((event.done, event.total))),
            (TransferState::Uploading, _) => ("Pushing", Some((event.done, event.total))),
            (TransferState::Verifying, false) => ("Verifying Checksum", None),
            (TransferState::Verifying, true) => return,
            (TransferState::Done, false) => ("Download complete", None),
            (TransferState::Done, true) => ("Pushed", None),
            (TransferState::AlreadyExists, false) => ("Already exists", None),
            (TransferState::AlreadyExists, true) => ("Layer already exists", None),
            (TransferState::Mounted, _) => ("Mounted from another repository", None),
            (TransferState::Failed, _) => return,
        };
        (self.out)(ProgressMessage {
            detail,
            ..ProgressMessage::layer(id, status)
        });
    }
}
