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

/// Marks `dir` as the top of a directory hierarchy for ext4's Orlov allocator
/// (`FS_TOPDIR_FL`, `chattr +T`): each directory made in it then starts in a fresh block group
/// instead of its parent's. Without a journal, ext4 skips inodes freed in the last minute or
/// more one by one when it allocates, so unpacking 20,000 files next to 20,000 just removed
/// (a re-pull after `rmi`) costs quadratic time — measured 12–19 s instead of 2.8 s for a
/// 200 MB pull. Best effort: other filesystems do not have the flag.
pub fn mark_top_directory(dir: &Path) {
    use rustix::fs::{IFlags, ioctl_getflags, ioctl_setflags};
    let marked = File::open(dir).and_then(|file| {
        let flags = ioctl_getflags(&file)?;
        if !flags.contains(IFlags::TOPDIR) {
            ioctl_setflags(&file, flags | IFlags::TOPDIR)?;
        }
        Ok(())
    });
    if let Err(e) = marked {
        tracing::debug!(dir = %dir.display(), error = %e, "cannot mark as a top directory");
    }
}

/// Flushes the filesystem holding `path` (syncfs: only that one, not every mounted one).
pub fn sync_filesystem(path: &Path) -> io::Result<()> {
    let fd = File::open(path)?;
    Ok(rustix::fs::syncfs(&fd)?)
}
