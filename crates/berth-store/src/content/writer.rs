//! A blob written in pieces as they arrive (a registry download), verified for size and digest
//! on [`BlobWriter::commit`]. Dropping the writer without committing removes the temp file.
//! A pull may instead [`BlobWriter::commit_deferred`] its blobs and publish them together after
//! one filesystem sync, and may read a blob while it is written ([`BlobWriter::follow`]).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_oci::Digest;

use super::follow::{BlobFollower, Progress};
use super::{ContentError, ContentStore, Hasher};
use crate::{fsutil, writeback};

/// Writeback of a blob being written is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;

/// Owns what it needs (not a borrow of the store), so it can live in a download task.
pub struct BlobWriter {
    target: PathBuf,
    active: Arc<Mutex<HashSet<PathBuf>>>,
    expected: Digest,
    expected_size: Option<u64>,
    temp: PathBuf,
    file: Option<File>,
    /// `None` when the caller verifies the digest itself (a registry download hashes every
    /// byte).
    hasher: Option<Hasher>,
    written: u64,
    /// Bytes whose writeback was already started.
    flushed: u64,
    /// Shared with followers, once there is one.
    progress: Option<Arc<Progress>>,
}

impl ContentStore {
    /// Starts writing the blob `expected`; nothing is visible under its digest until
    /// [`BlobWriter::commit`] has verified it.
    pub fn writer(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobWriter, ContentError> {
        self.new_writer(expected, expected_size, false)
    }

    /// As [`ContentStore::writer`], for a caller that hashes every byte itself and commits
    /// only what it verified (the registry client): the digest is not computed twice.
    pub fn writer_verified_by_caller(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobWriter, ContentError> {
        self.new_writer(expected, expected_size, true)
    }

    fn new_writer(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
        caller_verifies: bool,
    ) -> Result<BlobWriter, ContentError> {
        let dir = self.blobs.join(expected.algorithm().as_str());
        let (temp, file) =
            fsutil::create_temp(&dir, "ingest").map_err(|source| ContentError::Write {
                digest: expected.to_string(),
                source,
            })?;
        self.lock_active().insert(temp.clone());
        Ok(BlobWriter {
            target: self.blob_path(expected),
            active: self.active.clone(),
            expected: expected.clone(),
            expected_size,
            temp,
            file: Some(file),
            hasher: (!caller_verifies).then(|| Hasher::new(expected.algorithm())),
            written: 0,
            flushed: 0,
            progress: None,
        })
    }
}

impl BlobWriter {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), ContentError> {
        self.written += chunk.len() as u64;
        if let Some(want) = self.expected_size
            && self.written > want
        {
            return Err(self.size_mismatch());
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(chunk);
        }
        let file = self.file.as_mut().ok_or_else(|| ContentError::Write {
            digest: self.expected.to_string(),
            source: std::io::Error::other("writer already finished"),
        })?;
        file.write_all(chunk)
            .map_err(|source| ContentError::Write {
                digest: self.expected.to_string(),
                source,
            })?;
        if self.written - self.flushed >= WRITEBACK_STEP {
            writeback::start(&*file, self.flushed, self.written - self.flushed);
            self.flushed = self.written;
        }
        if let Some(progress) = &self.progress {
            progress.wrote(self.written);
        }
        Ok(())
    }

    /// A reader of this blob from its first byte, which blocks until bytes are written and
    /// ends once the blob is committed (either way); it fails if the writer is dropped.
    pub fn follow(&mut self) -> Result<BlobFollower, ContentError> {
        let read_err = |source| ContentError::Write {
            digest: self.expected.to_string(),
            source,
        };
        let file = File::open(&self.temp).map_err(read_err)?;
        let progress = self
            .progress
            .get_or_insert_with(|| Arc::new(Progress::default()))
            .clone();
        progress.wrote(self.written);
        Ok(BlobFollower {
            file,
            progress,
            position: 0,
        })
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Verifies size and digest, makes the blob durable and visible. Returns its size.
    pub fn commit(mut self) -> Result<u64, ContentError> {
        let file = self.verified_file()?;
        let write_err = |source| ContentError::Write {
            digest: self.expected.to_string(),
            source,
        };
        file.sync_all().map_err(write_err)?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(write_err)?;
        if let Some(dir) = self.target.parent() {
            fsutil::fsync_dir(dir).map_err(write_err)?;
        }
        self.finished();
        Ok(self.written)
    }

    /// Verifies size and digest but leaves the blob in its temp file, not yet durable nor
    /// visible: [`ContentStore::publish`] does that after the caller synced the filesystem
    /// (one sync for a whole pull instead of one per blob).
    pub fn commit_deferred(mut self) -> Result<PendingBlob, ContentError> {
        let file = self.verified_file()?;
        writeback::start(&file, self.flushed, self.written - self.flushed);
        drop(file);
        self.finished();
        Ok(PendingBlob {
            target: self.target.clone(),
            active: self.active.clone(),
            temp: std::mem::take(&mut self.temp),
            digest: self.expected.clone(),
            size: self.written,
        })
    }

    /// Checks size and digest and takes the file; the writer is finished after this.
    fn verified_file(&mut self) -> Result<File, ContentError> {
        if let Some(want) = self.expected_size
            && self.written != want
        {
            return Err(self.size_mismatch());
        }
        let actual = self.hasher.take().map(Hasher::finish);
        if let Some(actual) = actual
            && actual != self.expected
        {
            return Err(ContentError::DigestMismatch {
                expected: self.expected.clone(),
                actual,
            });
        }
        self.file.take().ok_or_else(|| ContentError::Write {
            digest: self.expected.to_string(),
            source: std::io::Error::other("writer already finished"),
        })
    }

    /// The blob's bytes are all there: followers read to the end.
    fn finished(&mut self) {
        if let Some(progress) = self.progress.take() {
            progress.complete();
        }
    }

    fn size_mismatch(&self) -> ContentError {
        ContentError::SizeMismatch {
            digest: self.expected.to_string(),
            expected: self.expected_size.unwrap_or(0),
            actual: self.written,
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(progress) = self.progress.take() {
            progress.abandon();
        }
        if self.temp.as_os_str().is_empty() {
            // commit_deferred: the PendingBlob owns the temp file now.
            return;
        }
        // Committed: the temp name was renamed away and removing it finds nothing.
        if self.file.is_some() {
            let _ = fs::remove_file(&self.temp);
        }
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.temp);
    }
}

/// A verified blob still in its temp file (see [`BlobWriter::commit_deferred`]). Dropping it
/// unpublished removes the temp file.
pub struct PendingBlob {
    target: PathBuf,
    active: Arc<Mutex<HashSet<PathBuf>>>,
    temp: PathBuf,
    digest: Digest,
    size: u64,
}

impl PendingBlob {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.temp);
    }
}

impl ContentStore {
    /// Makes deferred blobs visible. The caller has synced the filesystem holding the store
    /// since they were written (so their bytes are durable): each is renamed into place and
    /// each directory fsynced once.
    pub fn publish(&self, pending: Vec<PendingBlob>) -> Result<(), ContentError> {
        let mut dirs = HashSet::new();
        for mut blob in pending {
            let write_err = |source| ContentError::Write {
                digest: blob.digest.to_string(),
                source,
            };
            fs::rename(&blob.temp, &blob.target).map_err(write_err)?;
            if let Some(dir) = blob.target.parent() {
                dirs.insert(dir.to_path_buf());
            }
            let temp = std::mem::take(&mut blob.temp);
            blob.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&temp);
        }
        for dir in dirs {
            fsutil::fsync_dir(&dir).map_err(|source| ContentError::Dir { path: dir, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_verified_blobs_and_discards_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let data = b"hello, pieces";
        let digest = Digest::sha256_of(data);
        let mut writer = store.writer(&digest, Some(data.len() as u64)).unwrap();
        writer.write(&data[..5]).unwrap();
        writer.write(&data[5..]).unwrap();
        assert_eq!(writer.commit().unwrap(), data.len() as u64);
        assert_eq!(store.read_small(&digest, 1024).unwrap(), data);

        let other = Digest::sha256_of(b"something else");
        let mut writer = store.writer(&other, None).unwrap();
        writer.write(b"not it").unwrap();
        assert!(matches!(
            writer.commit(),
            Err(ContentError::DigestMismatch { .. })
        ));
        let mut writer = store.writer(&other, Some(2)).unwrap();
        assert!(matches!(
            writer.write(b"too long"),
            Err(ContentError::SizeMismatch { .. })
        ));
        drop(writer);
        // Only the committed blob is left: no temp files.
        let names: Vec<_> = fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(digest.hex())]);
    }
}
