//! Processes: clone with fork semantics, wait, exit, prctl.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

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

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup `cgroup` names.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The kernel's `struct clone_args` (the `CLONE_ARGS_SIZE_VER2` layout, with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Like [`clone_fork`], but the child is born in the cgroup v2 directory `cgroup` (an open
/// directory fd), so it never migrates: no write to `cgroup.procs`, whose global lock waits
/// for an RCU grace period. Fails with ENOSYS/E2BIG on kernels older than 5.7.
pub fn clone_fork_into_cgroup(flags: u64, cgroup: BorrowedFd<'_>) -> io::Result<Forked> {
    let args = CloneArgs {
        flags: flags | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid, initialised clone_args of the size we pass; without CLONE_VM
    // and with no stack the child continues from here on a copy-on-write copy of our address
    // space, like fork(2) (same contract as `clone_fork`: the caller is single-threaded).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
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

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::path::PathBuf;

    use super::*;

    /// The host's cgroup2 mount (the unified one of a hybrid host, or the only one on v2).
    fn cgroup2_mount() -> PathBuf {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let line = info
            .lines()
            .find(|l| l.contains(" - cgroup2 "))
            .expect("this test needs a cgroup2 mount");
        PathBuf::from(line.split(' ').nth(4).unwrap())
    }

    /// Removes the test's cgroup even when an assertion fails.
    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    #[test]
    fn a_child_cloned_into_a_v2_cgroup_starts_there() {
        berth_testutil::require_root();
        let name = format!("berth-clone3-test-{}", std::process::id());
        let dir = Dir(cgroup2_mount().join(&name));
        std::fs::create_dir(&dir.0).unwrap();
        let target = std::fs::File::open(&dir.0).unwrap();
        let child = match clone_fork_into_cgroup(0, target.as_fd()).unwrap() {
            Forked::Child => {
                // Only async-signal-safe calls here: the test harness has other threads.
                // SAFETY: pause and _exit are async-signal-safe and touch no shared state.
                unsafe {
                    libc::pause();
                    libc::_exit(0)
                }
            }
            Forked::Parent { child } => child,
        };
        let cgroup = std::fs::read_to_string(format!("/proc/{child}/cgroup"));
        kill(child, libc::SIGKILL).unwrap();
        let exit = wait_exit(child).unwrap();
        assert_eq!(exit, Exit::Signal(libc::SIGKILL));
        let cgroup = cgroup.unwrap();
        assert!(
            cgroup.lines().any(|l| l == format!("0::/{name}")),
            "child not born in /{name}: {cgroup}"
        );
    }
}
