//! Atomic file writes (temp + fsync + rename + directory fsync) and random names.

use std::io::Write;
use std::path::Path;

use super::{StorageError, io_err};

/// `n` random bytes as lowercase hex (upload ids, temp names, token ids).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // The OS RNG failing is not recoverable; fall back to time+pid entropy rather than panic.
    if getrandom::fill(&mut buf).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `data` to `dest` atomically: temp file in `tmp`, fsync, rename, fsync the directory.
pub fn atomic_write(tmp: &Path, dest: &Path, data: &[u8]) -> Result<(), StorageError> {
    let mut file = std::fs::File::create(tmp).map_err(io_err("create", tmp))?;
    let result = file
        .write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(io_err("write", tmp))
        .and_then(|()| rename_into_place(tmp, dest));
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Renames an already fsynced file into place, creating parent directories, then fsyncs the
/// parent so the new name survives a crash.
pub fn rename_into_place(from: &Path, dest: &Path) -> Result<(), StorageError> {
    let parent = dest.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
    std::fs::rename(from, dest).map_err(io_err("rename into", dest))?;
    let dir = std::fs::File::open(parent).map_err(io_err("open directory", parent))?;
    dir.sync_all().map_err(io_err("fsync directory", parent))
}

/// Reads a small file, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, StorageError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(StorageError::Io {
            op: "read",
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Removes a file, `false` when it was already gone.
pub fn remove_optional(path: &Path) -> Result<bool, StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::Io {
            op: "remove",
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Names of the entries of a directory, empty when it does not exist.
pub fn list_names(dir: &Path) -> Result<Vec<String>, StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(StorageError::Io {
                op: "list",
                path: dir.to_owned(),
                source: e,
            });
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}
