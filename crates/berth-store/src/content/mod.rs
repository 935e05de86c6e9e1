//! The content store: immutable blobs addressed by digest at `<root>/blobs/<algorithm>/<hex>`.
//!
//! Every blob is written to a temp file in its final directory, verified for size and digest,
//! fsynced and renamed into place, then the directory is fsynced. A crash leaves at most temp
//! files, which [`ContentStore::open`] removes. Two writers of the same blob each write their own
//! temp file; the renames are atomic, so readers always see one complete, verified blob.

mod follow;
mod hasher;
mod writer;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_oci::{Algorithm, Digest};

pub use follow::BlobFollower;
pub use hasher::{Hasher, HashingReader};
pub use writer::{BlobWriter, PendingBlob};

use crate::fsutil;

const COPY_BUFFER: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("content store directory {path}: {source}")]
    Dir { path: PathBuf, source: io::Error },
    #[error("writing blob {digest}: {source}")]
    Write { digest: String, source: io::Error },
    #[error("reading blob {digest}: {source}")]
    Read { digest: Digest, source: io::Error },
    #[error("blob {digest} not found in the content store")]
    NotFound { digest: Digest },
    #[error("blob {expected}: content has digest {actual} (wrong digest)")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest}: expected {expected} bytes, got {actual} (wrong size or truncated)")]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("blob {digest} is {size} bytes, more than the {limit} allowed for this kind of object")]
    TooLarge {
        digest: Digest,
        size: u64,
        limit: u64,
    },
}

/// What a sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub removed: Vec<Digest>,
    pub bytes_freed: u64,
    pub temp_files_removed: usize,
}

pub struct ContentStore {
    blobs: PathBuf,
    /// Temp files being written right now, so a sweep leaves them alone.
    active: Arc<Mutex<HashSet<PathBuf>>>,
}

impl ContentStore {
    /// Opens (creating if needed) the store under `<root>/blobs`, removing temp files a crash left.
    pub fn open(root: &Path) -> Result<ContentStore, ContentError> {
        let blobs = root.join("blobs");
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = blobs.join(algorithm.as_str());
            fs::create_dir_all(&dir).map_err(|source| ContentError::Dir {
                path: dir.clone(),
                source,
            })?;
            fsutil::remove_temp_entries(&dir)
                .map_err(|source| ContentError::Dir { path: dir, source })?;
        }
        Ok(ContentStore {
            blobs,
            active: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Size of a stored blob.
    pub fn size(&self, digest: &Digest) -> Result<u64, ContentError> {
        match fs::metadata(self.blob_path(digest)) {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ContentError::NotFound {
                digest: digest.clone(),
            }),
            Err(source) => Err(ContentError::Read {
                digest: digest.clone(),
                source,
            }),
        }
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, ContentError> {
        File::open(self.blob_path(digest)).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => ContentError::NotFound {
                digest: digest.clone(),
            },
            _ => ContentError::Read {
                digest: digest.clone(),
                source,
            },
        })
    }

    /// Reads a small blob (a manifest or config) into memory, refusing anything over `limit`.
    pub fn read_small(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, ContentError> {
        let size = self.size(digest)?;
        if size > limit {
            return Err(ContentError::TooLarge {
                digest: digest.clone(),
                size,
                limit,
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        self.open_blob(digest)?
            .read_to_end(&mut data)
            .map_err(|source| ContentError::Read {
                digest: digest.clone(),
                source,
            })?;
        Ok(data)
    }

    /// Ingests a blob whose digest (and optionally size) is known, verifying both. Returns the
    /// size. An already-present blob is not rewritten.
    pub fn ingest(
        &self,
        reader: impl Read,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<u64, ContentError> {
        if let Ok(size) = self.size(expected) {
            return match expected_size {
                Some(want) if want != size => Err(ContentError::SizeMismatch {
                    digest: expected.to_string(),
                    expected: want,
                    actual: size,
                }),
                _ => Ok(size),
            };
        }
        let (digest, size) =
            self.write_verified(reader, expected.algorithm(), Some(expected), expected_size)?;
        debug_assert_eq!(&digest, expected);
        Ok(size)
    }

    /// Ingests a blob of unknown digest (computed with sha256), e.g. a layer from an archive.
    pub fn ingest_unverified(&self, reader: impl Read) -> Result<(Digest, u64), ContentError> {
        self.write_verified(reader, Algorithm::Sha256, None, None)
    }

    /// Stores bytes already in memory.
    pub fn ingest_bytes(&self, data: &[u8]) -> Result<Digest, ContentError> {
        let digest = Digest::sha256_of(data);
        self.ingest(data, &digest, Some(data.len() as u64))?;
        Ok(digest)
    }

    fn write_verified(
        &self,
        mut reader: impl Read,
        algorithm: Algorithm,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<(Digest, u64), ContentError> {
        let label = expected.map_or_else(|| "(new blob)".to_owned(), Digest::to_string);
        let dir = self.blobs.join(algorithm.as_str());
        let write_err = |source| ContentError::Write {
            digest: label.clone(),
            source,
        };
        let (temp, mut file) = fsutil::create_temp(&dir, "ingest").map_err(write_err)?;
        self.lock_active().insert(temp.clone());
        let result = (|| {
            let mut hasher = Hasher::new(algorithm);
            let mut buf = vec![0u8; COPY_BUFFER];
            let mut size: u64 = 0;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(source) => return Err(write_err(source)),
                };
                size += n as u64;
                if let Some(want) = expected_size
                    && size > want
                {
                    return Err(ContentError::SizeMismatch {
                        digest: label.clone(),
                        expected: want,
                        actual: size,
                    });
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(write_err)?;
            }
            if let Some(want) = expected_size
                && size != want
            {
                return Err(ContentError::SizeMismatch {
                    digest: label.clone(),
                    expected: want,
                    actual: size,
                });
            }
            let actual = hasher.finish();
            if let Some(expected) = expected
                && &actual != expected
            {
                return Err(ContentError::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
            file.sync_all().map_err(write_err)?;
            fs::rename(&temp, self.blob_path(&actual)).map_err(write_err)?;
            fsutil::fsync_dir(&dir).map_err(write_err)?;
            Ok((actual, size))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        self.lock_active().remove(&temp);
        result
    }

    /// Deletes a blob. Returns whether it existed.
    pub fn delete(&self, digest: &Digest) -> Result<bool, ContentError> {
        match fs::remove_file(self.blob_path(digest)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(ContentError::Write {
                digest: digest.to_string(),
                source,
            }),
        }
    }

    /// Every stored blob with its size.
    pub fn list(&self) -> Result<Vec<(Digest, u64)>, ContentError> {
        let mut out = Vec::new();
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.blobs.join(algorithm.as_str());
            let entries = fs::read_dir(&dir).map_err(|source| ContentError::Dir {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| ContentError::Dir {
                    path: dir.clone(),
                    source,
                })?;
                let name = entry.file_name();
                let Ok(digest) =
                    format!("{}:{}", algorithm.as_str(), name.to_string_lossy()).parse::<Digest>()
                else {
                    continue;
                };
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((digest, size));
            }
        }
        Ok(out)
    }

    /// Removes every blob not in `keep`, and temp files no writer in this process owns.
    pub fn sweep(&self, keep: &HashSet<Digest>) -> Result<SweepReport, ContentError> {
        let mut report = SweepReport::default();
        for (digest, size) in self.list()? {
            if !keep.contains(&digest) && self.delete(&digest)? {
                report.bytes_freed += size;
                report.removed.push(digest);
            }
        }
        let active = self.lock_active().clone();
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.blobs.join(algorithm.as_str());
            let entries = fs::read_dir(&dir).map_err(|source| ContentError::Dir {
                path: dir.clone(),
                source,
            })?;
            for entry in entries.flatten() {
                let stale = entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(fsutil::TEMP_PREFIX)
                    && !active.contains(&entry.path());
                if stale && fs::remove_file(entry.path()).is_ok() {
                    report.temp_files_removed += 1;
                }
            }
        }
        Ok(report)
    }

    fn lock_active(&self) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
        // A panic while holding this lock cannot leave the set inconsistent; keep going.
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
