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
