//! The gc barrier: `<root>/gc.lock`, flock(2)ed *shared* by the server around every step that
//! makes an existing blob referenced again (touching a manifest's blobs and writing the manifest,
//! mounting, committing an upload), and *exclusively* by gc around each check-and-delete. A blob
//! gc sees as old and unreferenced can therefore not gain a reference between the check and the
//! unlink, and a reference written after gc's mark always carries a fresh mtime gc respects.
//! flock locks belong to an open file description, so every guard opens the file anew: that
//! works across threads of one process and across processes (`berth registry gc` beside `serve`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{FlockOperation, flock};

use super::{Storage, StorageError, io_err};

/// Held lock; dropping it closes the file, which releases the lock.
#[derive(Debug)]
pub struct GcLock {
    file: File,
}

fn lock_path(root: &Path) -> PathBuf {
    root.join("gc.lock")
}

fn take(root: &Path, op: FlockOperation) -> Result<GcLock, StorageError> {
    let path = lock_path(root);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    flock(&file, op).map_err(|e| StorageError::Io {
        op: "flock",
        path,
        source: e.into(),
    })?;
    Ok(GcLock { file })
}

impl Storage {
    /// Taken by the server while it revives references to stored blobs.
    pub(crate) fn reference_lock(&self) -> Result<GcLock, StorageError> {
        take(&self.root, FlockOperation::LockShared)
    }

    /// Taken by gc around each deletion decision.
    pub(crate) fn sweep_lock(&self) -> Result<GcLock, StorageError> {
        take(&self.root, FlockOperation::LockExclusive)
    }

    /// Waits for reference writes in flight, then returns "now" as the filesystem's clock
    /// sees it (the mtime of a write to the lock file): every blob referenced from here on
    /// carries an mtime at or after it, while a mark that starts now sees all earlier writes.
    pub(crate) fn gc_barrier(&self) -> Result<SystemTime, StorageError> {
        let lock = self.sweep_lock()?;
        let path = lock_path(&self.root);
        lock.file
            .write_all_at(b"gc", 0)
            .map_err(io_err("write", &path))?;
        let meta = lock.file.metadata().map_err(io_err("stat", &path))?;
        meta.modified().map_err(io_err("stat", &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_waits_for_shared_holders() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let shared = storage.reference_lock().unwrap();
        let second_shared = storage.reference_lock().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let s2 = storage.clone();
        let t = std::thread::spawn(move || {
            let _g = s2.sweep_lock().unwrap();
            tx.send(()).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            rx.try_recv().is_err(),
            "exclusive lock granted beside shared ones"
        );
        drop(shared);
        drop(second_shared);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("exclusive lock after the shared ones are released");
        t.join().unwrap();
    }
}
