//! Upload sessions: `uploads/<uuid>/{state.json,data}`. Bytes are hashed while they stream to
//! `data`; only a verified, fsynced `data` is renamed into the blob store, so an interrupted
//! upload never becomes visible.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_oci::{Algorithm, Digest};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::fsutil::{atomic_write, read_optional};
use super::{Storage, StorageError, io_err, random_hex};
use crate::server::names::RepoName;

const WRITE_CHUNK: usize = 1 << 20;
/// Bytes written between two early-writeback hints.
const EARLY_WRITEBACK: u64 = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("chunk starts at {got} but the upload is at offset {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("Content-Range declares {declared} bytes but the body carried {got}")]
    LengthMismatch { declared: u64, got: u64 },
    #[error("upload would exceed the blob size limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("content hashes to {actual}, not {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("too many upload sessions in progress (limit {limit})")]
    TooManySessions { limit: usize },
}

/// A validated upload id (a random UUID we handed out).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    pub fn parse(s: &str) -> Option<UploadId> {
        let ok = s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    b == b'-'
                } else {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                }
            });
        ok.then(|| UploadId(s.to_owned()))
    }

    fn random() -> UploadId {
        let h = random_hex(16);
        UploadId(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionState {
    repo: String,
    started_unix: u64,
}

/// How far the running hash got. Lost on restart: then `finish` re-reads the data file.
#[derive(Debug, Default)]
pub struct Cursor {
    hasher: Option<sha2::Sha256>,
    hashed: u64,
}

/// One open session, locked for the duration of a request that touches it.
#[derive(Debug)]
pub struct Session {
    pub id: UploadId,
    dir: PathBuf,
    cursor: Arc<tokio::sync::Mutex<Cursor>>,
}

impl Session {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Bytes received so far.
    pub fn offset(&self) -> Result<u64, StorageError> {
        let data = self.data();
        Ok(std::fs::metadata(&data)
            .map_err(io_err("stat", &data))?
            .len())
    }

    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, Cursor> {
        self.cursor.lock().await
    }
}

/// The upload sessions of one storage root.
#[derive(Debug)]
pub struct Uploads {
    storage: Storage,
    cursors: Mutex<HashMap<UploadId, Arc<tokio::sync::Mutex<Cursor>>>>,
    max_sessions: usize,
    max_blob_bytes: u64,
}

impl Uploads {
    pub fn new(storage: Storage, max_sessions: usize, max_blob_bytes: u64) -> Uploads {
        Uploads {
            storage,
            cursors: Mutex::new(HashMap::new()),
            max_sessions,
            max_blob_bytes,
        }
    }

    fn dir(&self, id: &UploadId) -> PathBuf {
        self.storage.root.join("uploads").join(id.as_str())
    }

    fn cursors(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<UploadId, Arc<tokio::sync::Mutex<Cursor>>>> {
        self.cursors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn start(&self, repo: &RepoName) -> Result<Session, UploadError> {
        if self.cursors().len() >= self.max_sessions {
            // Sessions expired by `gc` (another process) leave stale cursors: forget those first.
            self.cursors().retain(|id, _| self.dir(id).is_dir());
            if self.cursors().len() >= self.max_sessions {
                return Err(UploadError::TooManySessions {
                    limit: self.max_sessions,
                });
            }
        }
        let id = UploadId::random();
        let dir = self.dir(&id);
        std::fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let data = dir.join("data");
        std::fs::File::create(&data).map_err(io_err("create", &data))?;
        let state = SessionState {
            repo: repo.to_string(),
            started_unix: now_unix(),
        };
        let state = serde_json::to_vec(&state).unwrap_or_default();
        atomic_write(&self.storage.tmp_path(), &dir.join("state.json"), &state)?;
        let cursor = Arc::new(tokio::sync::Mutex::new(Cursor {
            hasher: Some(sha2::Sha256::new()),
            hashed: 0,
        }));
        self.cursors().insert(id.clone(), cursor.clone());
        Ok(Session { id, dir, cursor })
    }

    /// An existing session of `repo`; `None` if unknown or started for another repository.
    pub fn get(&self, repo: &RepoName, id: &UploadId) -> Result<Option<Session>, StorageError> {
        let dir = self.dir(id);
        let Some(state) = read_optional(&dir.join("state.json"))? else {
            return Ok(None);
        };
        match serde_json::from_str::<SessionState>(&state) {
            Ok(state) if state.repo == repo.as_str() => {}
            _ => return Ok(None),
        }
        let cursor = self.cursors().entry(id.clone()).or_default().clone();
        Ok(Some(Session {
            id: id.clone(),
            dir,
            cursor,
        }))
    }

    /// Streams `body` onto the end of the session. `start` is the first byte's offset from
    /// Content-Range (must equal the current size) and `declared` the chunk length it claims.
    /// A failed append is rolled back to the previous size.
    pub async fn append(
        &self,
        session: &Session,
        cursor: &mut Cursor,
        body: hyper::body::Incoming,
        start: Option<u64>,
        declared: Option<u64>,
    ) -> Result<u64, UploadError> {
        let before = session.offset()?;
        if let Some(start) = start
            && start != before
        {
            return Err(UploadError::OutOfOrder {
                expected: before,
                got: start,
            });
        }
        let saved_hasher = cursor.hasher.clone();
        let saved_hashed = cursor.hashed;
        let result = self
            .stream_into(session, cursor, body, before, declared)
            .await;
        if result.is_err() {
            let data = session.data();
            let truncate = std::fs::File::options()
                .write(true)
                .open(&data)
                .and_then(|f| f.set_len(before));
            if let Err(e) = truncate {
                tracing::warn!(path = %data.display(), error = %e, "rolling back a failed chunk");
            }
            cursor.hasher = saved_hasher;
            cursor.hashed = saved_hashed;
        }
        result
    }

    async fn stream_into(
        &self,
        session: &Session,
        cursor: &mut Cursor,
        mut body: hyper::body::Incoming,
        before: u64,
        declared: Option<u64>,
    ) -> Result<u64, UploadError> {
        let data = session.data();
        let mut file = std::fs::File::options()
            .append(true)
            .open(&data)
            .map_err(io_err("open", &data))?;
        // The running hash is only usable if it covers exactly the bytes already on disk.
        if cursor.hashed != before {
            cursor.hasher = None;
        }
        let mut pending = BytesMut::with_capacity(WRITE_CHUNK);
        let mut received: u64 = 0;
        let mut flushed_to = before;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|source| StorageError::Body { source })?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            received += chunk.len() as u64;
            if declared.is_some_and(|d| received > d) {
                return Err(UploadError::LengthMismatch {
                    declared: declared.unwrap_or(0),
                    got: received,
                });
            }
            if before + received > self.max_blob_bytes {
                return Err(UploadError::TooLarge {
                    limit: self.max_blob_bytes,
                });
            }
            if let Some(h) = cursor.hasher.as_mut() {
                h.update(&chunk);
            }
            pending.extend_from_slice(&chunk);
            if pending.len() >= WRITE_CHUNK {
                write_out(&mut file, &data, &pending.split().freeze())?;
                let written = before + received - pending.len() as u64;
                if written - flushed_to >= EARLY_WRITEBACK {
                    start_writeback(&file, flushed_to, written);
                    flushed_to = written;
                }
            }
        }
        if let Some(d) = declared
            && d != received
        {
            return Err(UploadError::LengthMismatch {
                declared: d,
                got: received,
            });
        }
        write_out(&mut file, &data, &pending.freeze())?;
        if cursor.hasher.is_some() {
            cursor.hashed = before + received;
        }
        Ok(before + received)
    }

    /// Verifies the session's bytes against `expected`, then moves them into the blob store and
    /// closes the session. On a digest mismatch the session is discarded.
    pub fn finish(
        &self,
        session: &Session,
        cursor: &mut Cursor,
        expected: &Digest,
    ) -> Result<u64, UploadError> {
        let data = session.data();
        let file = std::fs::File::open(&data).map_err(io_err("open", &data))?;
        let size = file.metadata().map_err(io_err("stat", &data))?.len();
        let actual = match (&cursor.hasher, expected.algorithm()) {
            (Some(h), Algorithm::Sha256) if cursor.hashed == size => {
                Digest::from_sha256_bytes(&h.clone().finalize())
            }
            _ => hash_file(&data, expected.algorithm())?,
        };
        if &actual != expected {
            self.cancel(&session.id)?;
            return Err(UploadError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        file.sync_all().map_err(io_err("fsync", &data))?;
        self.storage.commit_blob_file(&data, expected)?;
        self.cancel(&session.id)?;
        Ok(size)
    }

    /// Removes sessions whose bytes were last written `max_age` ago or earlier (abandoned
    /// pushes), skipping any a request is working on right now. Returns the expired ids.
    pub fn expire_idle(&self, max_age: std::time::Duration) -> Result<Vec<UploadId>, StorageError> {
        let base = self.storage.root.join("uploads");
        let mut expired = Vec::new();
        for name in super::fsutil::list_names(&base)? {
            let Some(id) = UploadId::parse(&name) else {
                continue;
            };
            let dir = self.dir(&id);
            let modified = std::fs::metadata(dir.join("data"))
                .or_else(|_| std::fs::metadata(&dir))
                .and_then(|m| m.modified());
            let idle = modified
                .ok()
                .and_then(|m| std::time::SystemTime::now().duration_since(m).ok())
                .unwrap_or_default();
            if idle < max_age {
                continue;
            }
            let cursor = self.cursors().get(&id).cloned();
            // A request holding the session lock is using it: not abandoned.
            let _guard = match &cursor {
                Some(c) => match c.try_lock() {
                    Ok(g) => Some(g),
                    Err(_) => continue,
                },
                None => None,
            };
            if self.cancel(&id)? {
                expired.push(id);
            }
        }
        Ok(expired)
    }

    /// Drops a session and its bytes. `false` if it did not exist.
    pub fn cancel(&self, id: &UploadId) -> Result<bool, StorageError> {
        self.cursors().remove(id);
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::Io {
                op: "remove",
                path: dir,
                source: e,
            }),
        }
    }
}

/// Starts writing `[from, to)` to disk now, so the fsync before commit has little left to do
/// (POSIX_FADV_DONTNEED initiates writeback of dirty pages in the range, and keeps uploads from
/// crowding the page cache). Only advice: failure is harmless.
fn start_writeback(file: &std::fs::File, from: u64, to: u64) {
    let len = std::num::NonZeroU64::new(to - from);
    let _ = rustix::fs::fadvise(file, from, len, rustix::fs::Advice::DontNeed);
}

fn write_out(file: &mut std::fs::File, path: &Path, bytes: &Bytes) -> Result<(), StorageError> {
    if bytes.is_empty() {
        return Ok(());
    }
    tokio::task::block_in_place(|| file.write_all(bytes)).map_err(io_err("write", path))
}

fn hash_file(path: &Path, algorithm: Algorithm) -> Result<Digest, StorageError> {
    let mut file = std::fs::File::open(path).map_err(io_err("open", path))?;
    let mut buf = vec![0u8; WRITE_CHUNK];
    let mut sha256 = sha2::Sha256::new();
    let mut sha512 = sha2::Sha512::new();
    loop {
        let n = file.read(&mut buf).map_err(io_err("read", path))?;
        if n == 0 {
            break;
        }
        match algorithm {
            Algorithm::Sha256 => sha256.update(&buf[..n]),
            Algorithm::Sha512 => sha512.update(&buf[..n]),
        }
    }
    let text = match algorithm {
        Algorithm::Sha256 => return Ok(Digest::from_sha256_bytes(&sha256.finalize())),
        Algorithm::Sha512 => format!("sha512:{}", hex(&sha512.finalize())),
    };
    text.parse().map_err(|_| StorageError::CorruptLink {
        path: path.to_owned(),
        content: text,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
