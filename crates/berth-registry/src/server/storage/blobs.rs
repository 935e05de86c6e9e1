//! The shared blob store: `blobs/<algorithm>/<hex>`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use berth_oci::Digest;

use super::fsutil::{atomic_write, rename_into_place};
use super::{Storage, StorageError, io_err};

impl Storage {
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    /// Size of a stored blob, `None` if absent.
    pub fn blob_size(&self, digest: &Digest) -> Result<Option<u64>, StorageError> {
        let path = self.blob_path(digest);
        match std::fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io {
                op: "stat",
                path,
                source: e,
            }),
        }
    }

    /// Marks a blob as freshly used (mtime = now) so a concurrent `gc` inside its grace
    /// period spares it. Returns `false` if the blob is gone.
    pub fn touch_blob(&self, digest: &Digest) -> Result<bool, StorageError> {
        let path = self.blob_path(digest);
        let file = match std::fs::File::options().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(StorageError::Io {
                    op: "open",
                    path,
                    source: e,
                });
            }
        };
        file.set_modified(SystemTime::now())
            .map_err(io_err("touch", &path))?;
        Ok(true)
    }

    /// Moves a verified, fsynced file into the blob store. Identical content may race in from
    /// another upload: rename over it is harmless because the bytes are the same.
    /// The file's mtime is set to now first: an upload idle for hours must not look old to gc.
    pub fn commit_blob_file(&self, verified: &Path, digest: &Digest) -> Result<(), StorageError> {
        let file = std::fs::File::options()
            .write(true)
            .open(verified)
            .map_err(io_err("open", verified))?;
        file.set_modified(SystemTime::now())
            .map_err(io_err("touch", verified))?;
        let _lock = self.reference_lock()?;
        rename_into_place(verified, &self.blob_path(digest))
    }

    /// Stores small content (a manifest) whose digest the caller has just computed.
    pub fn put_blob_bytes(&self, digest: &Digest, data: &[u8]) -> Result<(), StorageError> {
        if self.blob_size(digest)? == Some(data.len() as u64) {
            self.touch_blob(digest)?;
            return Ok(());
        }
        atomic_write(&self.tmp_path(), &self.blob_path(digest), data)
    }

    /// Reads a whole (small) blob, `None` if absent.
    pub fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.blob_path(digest);
        match std::fs::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io {
                op: "read",
                path,
                source: e,
            }),
        }
    }

    /// Opens a blob for streaming, with its size.
    pub fn open_blob(&self, digest: &Digest) -> Result<Option<(std::fs::File, u64)>, StorageError> {
        let path = self.blob_path(digest);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StorageError::Io {
                    op: "open",
                    path,
                    source: e,
                });
            }
        };
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        Ok(Some((file, len)))
    }
}
