//! The few raw fd operations the safe wrappers (rustix, libseccomp) do not cover.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

/// Duplicates a descriptor that some library owns (close-on-exec), so that we own the copy.
pub fn dup_cloexec(raw: RawFd) -> io::Result<OwnedFd> {
    if raw < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: `raw` was just returned open by the library that keeps owning it; we borrow it
    // only for the duration of this dup and never close it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
    rustix::io::fcntl_dupfd_cloexec(borrowed, 0).map_err(io::Error::from)
}
