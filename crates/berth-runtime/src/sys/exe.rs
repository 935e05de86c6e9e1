//! Executables: exec'ing, and the detached read-only bind mount of our own binary.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{check, check_int};

/// `open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)`: a detached bind mount.
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC as libc::c_uint;
    // SAFETY: `path` is a valid NUL-terminated string for the call; flags are plain integers.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: open_tree returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_RDONLY})`.
pub fn make_mount_read_only(fd: BorrowedFd<'_>) -> io::Result<()> {
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: fd is valid for the call, the empty path is NUL-terminated, and `attr` is a
    // correctly sized mount_attr whose size we pass.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })
    .map(drop)
}

/// Whether the file behind `fd` lives on a read-only mount.
pub fn is_on_read_only_mount(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: fd is valid and `st` is writable statvfs storage.
    check_int(unsafe { libc::fstatvfs(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstatvfs succeeded and filled `st`.
    let st = unsafe { st.assume_init() };
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

/// NULL-terminated pointer array over C strings that outlive it.
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: executes the file `fd` refers to.
/// Returns only on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let argv_ptrs = pointers(argv);
    let envp_ptrs = pointers(envp);
    // SAFETY: all strings are NUL-terminated and both arrays are NULL-terminated and outlive the
    // call; on success the call does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// `execve(path, argv, envp)`. Returns only on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let argv_ptrs = pointers(argv);
    let envp_ptrs = pointers(envp);
    // SAFETY: as for execveat_fd: valid NUL-terminated strings and NULL-terminated arrays.
    unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`.
pub fn memfd_sealable(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated and valid for the call.
    let fd = check_int(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?;
    // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// [`memfd_sealable`] that may be executed: `MFD_EXEC` where the kernel knows it (6.3+,
/// where `vm.memfd_noexec = 1` would otherwise make it non-executable).
pub fn memfd_executable(name: &CStr) -> io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is NUL-terminated and valid for the call.
    let fd = match check_int(unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) }) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // SAFETY: as above; an older kernel, where every memfd is executable.
            check_int(unsafe { libc::memfd_create(name.as_ptr(), flags) })?
        }
        other => other?,
    };
    // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Seals a memfd against any further change (write, grow, shrink, re-seal).
pub fn seal_all(fd: BorrowedFd<'_>) -> io::Result<()> {
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS takes an integer argument; fd is valid for the call.
    check_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }).map(drop)
}
