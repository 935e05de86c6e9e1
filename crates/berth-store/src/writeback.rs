//! Starting writeback early. A pull writes hundreds of MiB that must be durable before the
//! image is recorded; asking the kernel to start writing each piece as it lands lets the disk
//! work while the network and the unpacker do, so the final sync has little left to wait for.

use std::os::fd::{AsFd, AsRawFd};

/// Starts (does not wait for) writeback of `len` bytes at `offset` of `file`. Best effort:
/// durability still comes from the fsync/syncfs that follows.
pub fn start(file: impl AsFd, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: sync_file_range only reads its integer arguments; the fd is borrowed for the call
    // and stays open throughout.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_fd().as_raw_fd(),
            offset,
            len,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if rc != 0 {
        tracing::trace!(error = %std::io::Error::last_os_error(), "sync_file_range");
    }
}

/// Syncs a filesystem over and over in the background until dropped. While a pull unpacks
/// thousands of small files, each round writes out what the last one left (inodes, directory
/// blocks, small files' data, which no per-file writeback kick covers) while the CPU is busy
/// unpacking, instead of all of it in the final sync the pull waits for.
pub struct BackgroundSync {
    stop: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Pause between rounds: long enough for each round to find real work.
const SYNC_ROUND: std::time::Duration = std::time::Duration::from_millis(150);

impl BackgroundSync {
    /// Starts syncing the filesystem holding `path`; best effort (errors are traced, the
    /// caller's own final sync is what counts).
    pub fn start(path: &std::path::Path) -> BackgroundSync {
        let stop = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(error) => {
                tracing::trace!(path = %path.display(), %error, "background sync not started");
                return BackgroundSync { stop, thread: None };
            }
        };
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("store-sync".into())
            .spawn(move || {
                let (lock, wake) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    stopped = wake
                        .wait_timeout(stopped, SYNC_ROUND)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    if *stopped {
                        return;
                    }
                    drop(stopped);
                    if let Err(error) = rustix::fs::syncfs(&file) {
                        tracing::trace!(%error, "background syncfs");
                    }
                    stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                }
            })
            .ok();
        BackgroundSync { stop, thread }
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
            .filter(|comm| comm.trim() == name)
            .count()
    }

    #[test]
    fn background_sync_runs_until_dropped_and_leaves_no_thread() {
        let dir = tempfile::tempdir().unwrap();
        let before = threads_named("store-sync");
        let syncing = BackgroundSync::start(dir.path());
        assert!(syncing.thread.as_ref().is_some_and(|t| !t.is_finished()));
        // The new thread names itself once it runs.
        let mut named = 0;
        for _ in 0..500 {
            named = threads_named("store-sync");
            if named == before + 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(named, before + 1);
        std::fs::write(dir.path().join("dirty"), vec![7u8; 1 << 20]).unwrap();
        std::thread::sleep(SYNC_ROUND * 2);
        assert!(syncing.thread.as_ref().is_some_and(|t| !t.is_finished()));
        drop(syncing);
        assert_eq!(threads_named("store-sync"), before);
        // A path that cannot be opened starts nothing and drops cleanly.
        drop(BackgroundSync::start(&dir.path().join("missing")));
        assert_eq!(threads_named("store-sync"), before);
    }
}
