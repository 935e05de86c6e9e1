//! Processes: clone with fork semantics, wait, exit, prctl.

use std::io;

use super::{check, check_int};

/// Where a `clone` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    Parent { child: i32 },
    Child,
}

/// `clone(flags | SIGCHLD)` with no new stack: fork semantics, plus the `CLONE_NEW*` flags.
///
/// The caller must be single-threaded (berth-runc never starts threads), so the child inherits
/// a consistent copy of the address space, as after `fork`.
pub fn clone_fork(flags: u64) -> io::Result<Forked> {
    let flags = flags | libc::SIGCHLD as u64;
    // SAFETY: without CLONE_VM and with a null stack the child gets a copy-on-write copy of our
    // address space and continues from this point, exactly like fork(2). The remaining
    // arguments (parent_tid, child_tid, tls) are unused without the matching flags.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent { child: pid as i32 }),
    }
}

/// How a waited-for child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell convention: the code, or 128 + signal number.
    pub fn as_code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

fn decode(status: libc::c_int) -> Option<Exit> {
    if libc::WIFEXITED(status) {
        Some(Exit::Code(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(Exit::Signal(libc::WTERMSIG(status)))
    } else {
        None
    }
}

/// Blocks until child `pid` exits (retrying on EINTR).
pub fn wait_exit(pid: i32) -> io::Result<Exit> {
    loop {
        match wait_any(pid, 0)? {
            Some((_, exit)) => return Ok(exit),
            None => continue,
        }
    }
}

/// `waitpid(pid, flags)`: `Ok(None)` when nothing ended (WNOHANG) or on EINTR.
pub fn wait_any(pid: i32, flags: libc::c_int) -> io::Result<Option<(i32, Exit)>> {
    let mut status: libc::c_int = 0;
    // SAFETY: status is a valid, writable c_int for the duration of the call.
    let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
    if ret < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(None);
        }
        return Err(err);
    }
    if ret == 0 {
        return Ok(None);
    }
    Ok(decode(status).map(|exit| (ret, exit)))
}

/// Ends the current (forked) process immediately, without running destructors or atexit
/// handlers that belong to the parent's copy of the state.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// `PR_SET_DUMPABLE`: a non-dumpable process's /proc files are owned by root and cannot be
/// opened by the container (CVE-2019-5736 defence in depth).
pub fn set_dumpable(dumpable: bool) -> io::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes one integer argument; no memory is passed.
    check_int(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, dumpable as libc::c_ulong, 0, 0, 0) })
        .map(drop)
}

/// `PR_SET_CHILD_SUBREAPER`: orphaned descendants (an init cloned by an intermediate child)
/// are re-parented to us so we can wait for them.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument; no memory is passed.
    check_int(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) })
        .map(drop)
}

/// `kill(pid, signal)`.
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers.
    check_int(unsafe { libc::kill(pid, signal) }).map(drop)
}

/// Whether a process with this pid exists (`kill(pid, 0)`; EPERM still means it exists).
pub fn exists(pid: i32) -> bool {
    match kill(pid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() == Some(libc::EPERM),
    }
}

/// Our effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and takes no arguments.
    unsafe { libc::geteuid() }
}

/// `PR_SET_NO_NEW_PRIVS`: execve can never grant privileges again (setuid bits, file caps).
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes the integer 1; no memory is passed.
    check_int(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) })
        .map(drop)
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)`: a fresh session keyring, so the container
/// cannot see the host session's keys.
pub fn join_session_keyring(name: &std::ffi::CStr) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: `name` is NUL-terminated and valid for the call.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) })
        .map(drop)
}

/// In a fresh user namespace, after the parent wrote our id maps: become the mapped root
/// (`setgroups([])`, `setresgid(0,0,0)`, `setresuid(0,0,0)`), so files we create are owned by
/// a mapped id instead of failing with EOVERFLOW.
pub fn become_namespace_root() -> io::Result<()> {
    // SAFETY: an empty group list with a null pointer is valid; EPERM (setgroups denied for an
    // unprivileged map) is tolerated below.
    let groups = unsafe { libc::setgroups(0, std::ptr::null()) };
    if groups < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain integer arguments.
    check_int(unsafe { libc::setresgid(0, 0, 0) })?;
    // SAFETY: plain integer arguments.
    check_int(unsafe { libc::setresuid(0, 0, 0) }).map(drop)
}
