//! The few raw fd operations the safe wrappers (rustix, libseccomp) do not cover.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, program)`; returns the syscall's non-negative
/// result (a listener fd with `SECCOMP_FILTER_FLAG_NEW_LISTENER`, a thread id on TSYNC failure).
pub fn seccomp_set_mode_filter(flags: u64, program: &[libc::sock_filter]) -> io::Result<i64> {
    let len =
        u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fprog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `len` initialised sock_filter entries that outlive the call;
    // the kernel only reads them (the `*mut` is the C struct's type, not a write).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Takes ownership of a descriptor a syscall just returned to us.
pub fn own_fd(raw: RawFd) -> io::Result<OwnedFd> {
    if raw < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: `raw` was just returned open by the kernel to this caller, and nothing else
    // holds or will close it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) })
}
