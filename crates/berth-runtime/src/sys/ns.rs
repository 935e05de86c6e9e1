//! Namespaces: joining by file descriptor, UTS names.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::check_int;

/// `setns(fd, nstype)`: joins the namespace `fd` refers to.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: fd is a valid open descriptor borrowed for the call; nstype is a plain flag.
    check_int(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// `unshare(flags)`: moves the calling process into new namespaces.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes a plain flag word and touches no memory of ours.
    check_int(unsafe { libc::unshare(flags) }).map(drop)
}

/// `sethostname`.
pub fn set_hostname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    check_int(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// `setdomainname`.
pub fn set_domainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    check_int(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) }).map(drop)
}
