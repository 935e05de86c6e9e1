//! A blob written in pieces as they arrive (a registry download), verified for size and digest
//! on [`BlobWriter::commit`]. Dropping the writer without committing removes the temp file.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_oci::Digest;

use super::{ContentError, ContentStore, Hasher};
use crate::fsutil;

/// Owns what it needs (not a borrow of the store), so it can live in a download task.
pub struct BlobWriter {
    target: PathBuf,
    active: Arc<Mutex<HashSet<PathBuf>>>,
    expected: Digest,
    expected_size: Option<u64>,
    temp: PathBuf,
    file: Option<File>,
    hasher: Option<Hasher>,
    written: u64,
}

impl ContentStore {
    /// Starts writing the blob `expected`; nothing is visible under its digest until
    /// [`BlobWriter::commit`] has verified it.
    pub fn writer(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
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
            hasher: Some(Hasher::new(expected.algorithm())),
            written: 0,
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
        file.write_all(chunk).map_err(|source| ContentError::Write {
            digest: self.expected.to_string(),
            source,
        })
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Verifies size and digest, makes the blob durable and visible. Returns its size.
    pub fn commit(mut self) -> Result<u64, ContentError> {
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
        let write_err = |source| ContentError::Write {
            digest: self.expected.to_string(),
            source,
        };
        let file = self
            .file
            .take()
            .ok_or_else(|| write_err(std::io::Error::other("writer already finished")))?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(write_err)?;
        if let Some(dir) = self.target.parent() {
            fsutil::fsync_dir(dir).map_err(write_err)?;
        }
        Ok(self.written)
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
        // Committed: the temp name was renamed away and removing it finds nothing.
        if self.file.is_some() || self.hasher.is_some() {
            let _ = fs::remove_file(&self.temp);
        }
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.temp);
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
