//! Where pulled content goes and where pushed content comes from. The content store implements
//! these; [`super::layout::LayoutDir`] is a plain OCI image layout directory implementation.
//!
//! The calls are synchronous: implementations write local files, and the puller calls them with
//! network-sized chunks (tens of KiB), so they never hold a runtime thread for long.

use std::io::Read;
use std::path::PathBuf;

use berth_oci::Digest;

use super::manifest::Descriptor;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("blob {digest} is not in {location}")]
    NotFound { digest: Digest, location: String },
    #[error("{path} is not a valid OCI layout: {reason}")]
    BadLayout { path: PathBuf, reason: String },
    #[error("committing {digest}: expected {expected} bytes, wrote {written}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        written: u64,
    },
}

/// Receives verified blobs from a pull.
pub trait BlobSink: Send + Sync {
    /// Whether the blob is already present and complete (the puller then skips it).
    fn has_blob(&self, digest: &Digest) -> Result<bool, SinkError>;
    /// Starts writing a blob; nothing is visible under `digest` until [`BlobWriter::commit`].
    fn begin(&self, digest: &Digest, size: u64) -> Result<Box<dyn BlobWriter>, SinkError>;
    /// Records `descriptor` (an image manifest already written as a blob) as a root, named
    /// `ref_name` (e.g. `docker.io/library/busybox:latest`).
    fn add_root(&self, descriptor: &Descriptor, ref_name: &str) -> Result<(), SinkError>;
}

/// One blob being written. Dropping it without `commit` discards everything written.
pub trait BlobWriter: Send {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError>;
    /// Called only after the caller verified digest and size of everything written.
    fn commit(self: Box<Self>) -> Result<(), SinkError>;
}

/// Supplies blobs and the roots to push.
pub trait BlobSource: Send + Sync {
    /// A reader over the blob's bytes.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SinkError>;
    /// The root manifests/indexes with their ref names (if any).
    fn roots(&self) -> Result<Vec<(Descriptor, Option<String>)>, SinkError>;

    /// The whole blob in memory (manifests and configs: small).
    fn read_all(&self, digest: &Digest) -> Result<Vec<u8>, SinkError> {
        let mut out = Vec::new();
        self.open(digest)?
            .read_to_end(&mut out)
            .map_err(|source| SinkError::Io {
                op: "read blob",
                path: PathBuf::from(digest.to_string()),
                source,
            })?;
        Ok(out)
    }
}
