//! Every raw syscall the shim makes that has no safe wrapper: fork, signal masks, signalfd,
//! kill, waitpid. Each `unsafe` states why it is sound.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Which side of a `fork` we are on.
#[derive(Debug)]
pub enum Fork {
    Parent(i32),
    Child,
}

/// `fork()`. Callers use it while the process is single-threaded (the shim never starts a
/// thread), so the child may run arbitrary code.
pub fn fork() -> io::Result<Fork> {
    // SAFETY: the shim is single-threaded when it forks, so no lock can be held by another
    // thread in the child; fork has no memory-safety preconditions otherwise.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// Ends the process right away, without running atexit handlers or destructors (the
/// intermediate process of the double fork must not flush or delete anything).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for &sig in signals {
        // SAFETY: `set` is initialised; an invalid signal number only makes sigaddset fail.
        unsafe { libc::sigaddset(&mut set, sig) };
    }
    set
}

/// Blocks `signals` and returns a non-blocking signalfd that reports them.
pub fn signalfd(signals: &[i32]) -> io::Result<OwnedFd> {
    let set = sigset(signals);
    // SAFETY: `set` is a valid sigset; a null old-set pointer is allowed.
    if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: -1 asks for a new fd; `set` is valid for the call.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Drains a signalfd, returning the signal numbers read.
pub fn read_signals(fd: BorrowedFd<'_>) -> Vec<i32> {
    let mut out = Vec::new();
    loop {
        // SAFETY: signalfd_siginfo is plain data, fully written by a successful read.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: the buffer is valid and `size` bytes long.
        let n = unsafe { libc::read(fd.as_raw_fd(), (&raw mut info).cast(), size) };
        if n != size as isize {
            return out;
        }
        out.push(info.ssi_signo as i32);
    }
}

/// Ignores `sig` (SIGPIPE, SIGHUP…: the shim must outlive its session and dead peers).
pub fn ignore(sig: i32) {
    // SAFETY: SIG_IGN is a valid disposition for the catchable signals we pass.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// `kill(pid, sig)` with any signal number (rustix only takes its named set).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// How a reaped child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// Docker's convention: a signal N is exit code 128+N.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// `waitpid(pid, WNOHANG)`: `Ok(None)` when nothing (more) has exited.
pub fn try_wait(pid: i32) -> io::Result<Option<(i32, Exit)>> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match got {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p if libc::WIFSIGNALED(status) => Ok(Some((p, Exit::Signal(libc::WTERMSIG(status))))),
        p => Ok(Some((p, Exit::Code(libc::WEXITSTATUS(status))))),
    }
}

/// Blocking `waitpid(pid)` (for the short-lived first child of the double fork).
pub fn wait_blocking(pid: i32) {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// Takes ownership of an fd inherited across exec, after checking it is open (and marks it
/// close-on-exec again). The caller must own the number: nothing else in the process may use it.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_SETFD only changes the descriptor's flags; an unopened number fails with EBADF.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd is open (checked above) and, per the contract, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Unmaps the pages of `[start, start+len)` and, with `random`, stops read-ahead
/// ("fault-around") there, so later touches fault in one page each. Only for mappings that hold
/// no private (anonymous) pages: those are clean page-cache pages, re-read on the next access.
pub fn forget_file_pages(start: usize, len: usize, random: bool) -> io::Result<()> {
    let addr = start as *mut libc::c_void;
    // SAFETY: the range is one whole mapping of this process (from /proc/self/smaps) that is
    // not writable and holds no anonymous pages; MADV_RANDOM only changes a read-ahead hint.
    if random && unsafe { libc::madvise(addr, len, libc::MADV_RANDOM) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above: dropping clean file-backed pages of a read-only private mapping loses
    // no data; the next access maps the same page-cache page again.
    if unsafe { libc::madvise(addr, len, libc::MADV_DONTNEED) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
