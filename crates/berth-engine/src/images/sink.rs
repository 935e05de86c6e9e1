//! The content store as the registry client's sink (pull) and source (push). A layer blob is
//! unpacked while it downloads: a thread per layer follows the blob's temp file as it grows
//! (decompress + diffID hash + extract in one pass over the bytes), and the verified blob is
//! handed over unpublished, so one filesystem sync at the end covers blobs and layers.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use berth_oci::Digest;
use berth_registry::client::{BlobSink, BlobSource, BlobWriter, Descriptor, SinkError};
use berth_store::Store;
use berth_store::content::PendingBlob;
use berth_store::snapshot::{PendingLayer, SnapshotError};

use super::pull::Unpack;

pub(crate) struct StoreSink {
    pub store: Arc<Store>,
    /// Told the digest of every committed blob.
    pub committed: Sender<Unpack>,
    /// The image's layer blobs: these are unpacked as they stream in.
    pub layers: HashSet<Digest>,
}

/// A layer blob downloaded and verified, with the thread that unpacked it.
pub(crate) struct StreamedLayer {
    pub blob: PendingBlob,
    pub unpacked: JoinHandle<Result<PendingLayer, SnapshotError>>,
}

fn sink_err(op: &'static str, digest: &Digest, err: impl std::fmt::Display) -> SinkError {
    SinkError::Io {
        op,
        path: PathBuf::from(digest.to_string()),
        source: std::io::Error::other(err.to_string()),
    }
}

impl BlobSink for StoreSink {
    fn has_blob(&self, digest: &Digest) -> Result<bool, SinkError> {
        Ok(self.store.content.contains(digest))
    }

    /// The registry client hashes every byte and commits only verified blobs, so the store
    /// does not hash them again.
    fn begin(&self, digest: &Digest, size: u64) -> Result<Box<dyn BlobWriter>, SinkError> {
        let mut writer = self
            .store
            .content
            .writer_verified_by_caller(digest, Some(size))
            .map_err(|e| sink_err("start blob", digest, e))?;
        let unpacking = if self.layers.contains(digest) {
            let follower = writer
                .follow()
                .map_err(|e| sink_err("follow blob", digest, e))?;
            let store = self.store.clone();
            let thread = std::thread::Builder::new()
                .name("pull-layer".to_owned())
                .spawn(move || store.snapshots.unpack_pending(follower))
                .map_err(|e| sink_err("start unpacking", digest, e))?;
            Some(thread)
        } else {
            None
        };
        Ok(Box::new(StoreWriter {
            digest: digest.clone(),
            writer: Some(writer),
            unpacking,
            committed: self.committed.clone(),
        }))
    }

    /// The engine registers the image itself once every layer is unpacked.
    fn add_root(&self, _: &Descriptor, _: &str) -> Result<(), SinkError> {
        Ok(())
    }
}

struct StoreWriter {
    digest: Digest,
    writer: Option<berth_store::content::BlobWriter>,
    /// The layer's unpacking thread, when this blob is a layer.
    unpacking: Option<JoinHandle<Result<PendingLayer, SnapshotError>>>,
    committed: Sender<Unpack>,
}

impl BlobWriter for StoreWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        if let Some(writer) = &mut self.writer {
            writer
                .write(chunk)
                .map_err(|e| sink_err("write blob", &self.digest, e))?;
        }
        crate::fault::point("pull:mid-blob");
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), SinkError> {
        let digest = self.digest.clone();
        let Some(writer) = self.writer.take() else {
            return Err(sink_err("commit blob", &digest, "already committed"));
        };
        let message = match self.unpacking.take() {
            Some(unpacked) => match writer.commit_deferred() {
                Ok(blob) => Unpack::Layer(Box::new(StreamedLayer { blob, unpacked })),
                Err(e) => {
                    let _ = unpacked.join();
                    return Err(sink_err("commit blob", &digest, e));
                }
            },
            None => {
                writer
                    .commit()
                    .map_err(|e| sink_err("commit blob", &digest, e))?;
                Unpack::Committed(digest)
            }
        };
        // The unpacker may be gone (it failed first): dropping the message cleans up.
        let _ = self.committed.send(message);
        Ok(())
    }
}

impl Drop for StoreWriter {
    /// An abandoned download: its unpacking thread stops at once (its reader fails) and
    /// removes its directory; wait for that so nothing outlives a failed pull.
    fn drop(&mut self) {
        drop(self.writer.take());
        if let Some(thread) = self.unpacking.take() {
            let _ = thread.join();
        }
    }
}

/// One stored image as a push source: its manifest is the root.
pub(crate) struct StoreSource {
    pub store: Arc<Store>,
    pub root: Descriptor,
    pub ref_name: String,
}

impl BlobSource for StoreSource {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SinkError> {
        let file = self.store.content.open_blob(digest).map_err(|e| match e {
            berth_store::ContentError::NotFound { .. } => SinkError::NotFound {
                digest: digest.clone(),
                location: "the content store".to_owned(),
            },
            other => sink_err("open blob", digest, other),
        })?;
        Ok(Box::new(file))
    }

    fn roots(&self) -> Result<Vec<(Descriptor, Option<String>)>, SinkError> {
        Ok(vec![(self.root.clone(), Some(self.ref_name.clone()))])
    }
}
