//! Per-blob progress events for pull and push, and the [`Progress`] trait renderers implement.

use std::sync::Arc;

use berth_oci::Digest;

/// What a blob is, for display (`Pulling fs layer` vs `config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobRole {
    Config,
    Layer,
    Manifest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Queued behind the concurrency limit.
    Waiting,
    Downloading,
    Uploading,
    /// All bytes received; checking digest and size, committing to the sink.
    Verifying,
    Done,
    /// The sink (pull) or the registry (push) already had it.
    AlreadyExists,
    /// Pushed by cross-repository mount: no bytes sent.
    Mounted,
    Failed,
}

impl TransferState {
    pub fn label(self) -> &'static str {
        match self {
            TransferState::Waiting => "Waiting",
            TransferState::Downloading => "Downloading",
            TransferState::Uploading => "Uploading",
            TransferState::Verifying => "Verifying",
            TransferState::Done => "Done",
            TransferState::AlreadyExists => "Already exists",
            TransferState::Mounted => "Mounted",
            TransferState::Failed => "Failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            TransferState::Done
                | TransferState::AlreadyExists
                | TransferState::Mounted
                | TransferState::Failed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    pub digest: Digest,
    pub role: BlobRole,
    pub state: TransferState,
    pub done: u64,
    pub total: u64,
}

/// Receives events; called from transfer tasks, so it must be cheap and thread-safe.
pub trait Progress: Send + Sync {
    fn event(&self, event: &ProgressEvent);
}

/// Shows nothing (`--quiet`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _: &ProgressEvent) {}
}

/// Collects every event (tests, or callers that render afterwards).
#[derive(Debug, Default)]
pub struct Recorder {
    events: std::sync::Mutex<Vec<ProgressEvent>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<ProgressEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Progress for Recorder {
    fn event(&self, event: &ProgressEvent) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

/// A blob's reporter: remembers digest/role/total so transfer code only says state and bytes.
#[derive(Clone)]
pub(crate) struct Tracker {
    pub(crate) sink: Arc<dyn Progress>,
    pub(crate) digest: Digest,
    pub(crate) role: BlobRole,
    pub(crate) total: u64,
}

impl Tracker {
    pub(crate) fn report(&self, state: TransferState, done: u64) {
        self.sink.event(&ProgressEvent {
            digest: self.digest.clone(),
            role: self.role,
            state,
            done,
            total: self.total,
        });
    }
}
