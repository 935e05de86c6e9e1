//! Atomic JSON state files: write a temp file beside the target, fsync, rename, fsync the dir.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads `path` as JSON; `None` if it does not exist.
pub(crate) fn load_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| PersistError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

/// Replaces `path` with `value` as JSON, atomically and durably.
pub(crate) fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<(), PersistError> {
    let write_error = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| write_error(e.into()))?;
    berth_fsutil::write_atomic(path, &bytes, 0o644).map_err(write_error)
}

/// Like [`save_json`], atomic (temp file + rename) but without the fsyncs: for state that only
/// describes running things (address allocations), where an update lost in a power cut costs
/// nothing (those containers are gone too) and the fsyncs would dominate container start.
pub(crate) fn save_json_atomic_only<T: Serialize>(
    path: &Path,
    value: &T,
) -> Result<(), PersistError> {
    let write_error = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| write_error(e.into()))?;
    berth_fsutil::write_atomic_volatile(path, &bytes, 0o644).map_err(write_error)
}
