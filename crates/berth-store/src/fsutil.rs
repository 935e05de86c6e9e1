//! Small durable-write helpers shared by every on-disk record: temp file + fsync + rename + fsync dir.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prefix of every temporary file or directory the store creates; anything carrying it after a
/// crash is garbage and is removed when the store opens.
pub const TEMP_PREFIX: &str = ".tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique within this machine: pid, a process-wide counter and the clock.
pub fn temp_name(purpose: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{TEMP_PREFIX}{purpose}-{}-{n}-{nanos}", std::process::id())
}

/// Creates a new temp file in `dir` (exclusive, mode 0600).
pub fn create_temp(dir: &Path, purpose: &str) -> io::Result<(PathBuf, File)> {
    let path = dir.join(temp_name(purpose));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((path, file))
}

/// fsyncs a directory so a rename or unlink inside it survives a crash.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` with `data` atomically: readers see the old or the new content, never a mix.
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (temp, mut file) = create_temp(dir, "write")?;
    let result = (|| {
        file.write_all(data)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Removes every leftover temp entry directly inside `dir`. Returns how many were removed.
pub fn remove_temp_entries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            remove_any(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes a file or a whole directory tree; a missing path is not an error.
pub fn remove_any(path: &Path) -> io::Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Flushes the filesystem holding `path` (syncfs: only that one, not every mounted one).
pub fn sync_filesystem(path: &Path) -> io::Result<()> {
    let fd = File::open(path)?;
    Ok(rustix::fs::syncfs(&fd)?)
}
