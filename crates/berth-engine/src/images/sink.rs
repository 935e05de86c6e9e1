//! The content store as the registry client's sink (pull) and source (push): downloaded blobs
//! go straight into it, verified there as well as by the client; each commit is announced so
//! layers can be unpacked while later ones still download.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use berth_oci::Digest;
use berth_registry::client::{BlobSink, BlobSource, BlobWriter, Descriptor, SinkError};
use berth_store::Store;

use super::pull::Unpack;

pub(crate) struct StoreSink {
    pub store: Arc<Store>,
    /// Told the digest of every committed blob.
    pub committed: Sender<Unpack>,
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

    fn begin(&self, digest: &Digest, size: u64) -> Result<Box<dyn BlobWriter>, SinkError> {
        let writer = self
            .store
            .content
            .writer(digest, Some(size))
            .map_err(|e| sink_err("start blob", digest, e))?;
        Ok(Box::new(StoreWriter {
            digest: digest.clone(),
            writer,
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
    writer: berth_store::content::BlobWriter,
    committed: Sender<Unpack>,
}

impl BlobWriter for StoreWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.writer
            .write(chunk)
            .map_err(|e| sink_err("write blob", &self.digest, e))?;
        crate::fault::point("pull:mid-blob");
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        let StoreWriter {
            digest,
            writer,
            committed,
        } = *self;
        writer
            .commit()
            .map_err(|e| sink_err("commit blob", &digest, e))?;
        // The unpacker may be gone (it failed first); the blob stays for garbage collection.
        let _ = committed.send(Unpack::Committed(digest));
        Ok(())
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
