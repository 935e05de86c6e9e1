//! Raw syscalls the lifecycle code needs and rustix does not wrap (or wraps behind unstable
//! features). Every `unsafe` block here carries a `// SAFETY:` line; callers get safe functions
//! returning `std::io::Result`.

pub mod exe;
pub mod fd;
pub mod ns;
pub mod proc;
pub mod signal;

use std::io;

/// Turns a `-1`-on-error libc return value into an `io::Result`.
fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like [`check`] for `c_int` returns.
fn check_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
