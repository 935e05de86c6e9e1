//! Atomic now, durable a moment later: container state files are replaced with a temp file and
//! a rename (readers and a daemon crash see the old or the new file, never part of one), and a
//! background thread fsyncs them and their directory shortly after. Two fsyncs per state
//! change would otherwise sit on every `docker run`'s critical path (~10 ms each on a VM
//! disk); a host crash within that moment loses at most the latest transition.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};

static SYNCER: OnceLock<Option<Mutex<Sender<PathBuf>>>> = OnceLock::new();

/// Replaces `path` with `data` atomically; queues its fsync.
pub fn write(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    berth_fsutil::write_atomic_volatile(path, data, mode)?;
    queue(path.to_path_buf());
    Ok(())
}

fn queue(path: PathBuf) {
    let syncer = SYNCER.get_or_init(|| {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("state-sync".into())
            .spawn(move || run(&rx))
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let sent = syncer.as_ref().is_some_and(|tx| {
        tx.lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(path.clone())
            .is_ok()
    });
    if !sent {
        // No background thread: be durable the slow way rather than not at all.
        sync(&path);
    }
}

fn run(rx: &Receiver<PathBuf>) {
    while let Ok(first) = rx.recv() {
        // Batch what arrived meanwhile; a file replaced twice is synced once.
        let mut batch = BTreeSet::from([first]);
        batch.extend(rx.try_iter());
        for path in batch {
            sync(&path);
        }
    }
}

fn sync(path: &Path) {
    // The file may be gone already (container removed): nothing to keep then.
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.sync_all();
    }
    if let Some(dir) = path.parent() {
        let _ = berth_fsutil::fsync_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_atomically_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, b"one", 0o600).unwrap();
        write(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        assert!(write(&dir.path().join("missing/x"), b"", 0o600).is_err());
    }
}
