//! Signal masks and synchronous signal waiting for the foreground `run`/`exec` loop.

use std::io;
use std::mem::MaybeUninit;

use super::check_int;

/// A set of signals.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl std::fmt::Debug for SigSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigSet")
    }
}

impl SigSet {
    /// Every catchable signal.
    pub fn all() -> SigSet {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises the whole set it is given.
        unsafe { libc::sigfillset(set.as_mut_ptr()) };
        // SAFETY: initialised just above.
        SigSet(unsafe { set.assume_init() })
    }

    /// No signals.
    pub fn empty() -> SigSet {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the whole set it is given.
        unsafe { libc::sigemptyset(set.as_mut_ptr()) };
        // SAFETY: initialised just above.
        SigSet(unsafe { set.assume_init() })
    }

    /// Blocks these signals for the (single-threaded) process; returns the previous mask.
    pub fn block(&self) -> io::Result<SigSet> {
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: both pointers are valid sigset_t storage; `old` is written by the call.
        check_int(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &self.0, old.as_mut_ptr()) })?;
        // SAFETY: sigprocmask succeeded, so `old` is initialised.
        Ok(SigSet(unsafe { old.assume_init() }))
    }

    /// Replaces the process's signal mask with this set.
    pub fn set_mask(&self) -> io::Result<()> {
        // SAFETY: a valid sigset_t pointer and a null old-set pointer are allowed.
        check_int(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) })
            .map(drop)
    }
}

/// Restores default dispositions for every signal (a forked child must not inherit ignored
/// SIGPIPE etc. into the container).
pub fn reset_dispositions() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is a valid handler for every catchable signal; errors (for signals
        // glibc reserves) are harmless and ignored.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// A signalfd for `set` (the signals must be blocked), close-on-exec and non-blocking.
pub fn signalfd(set: &SigSet) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: -1 asks for a new descriptor; the set pointer is valid for the call.
    let fd =
        check_int(unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
    // SAFETY: signalfd returned a fresh descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Reads one pending signal number from a signalfd; `Ok(None)` when none is pending.
pub fn read_signalfd(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Option<i32>> {
    use std::os::fd::AsRawFd;
    let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` is writable storage of exactly `size` bytes.
    let n = unsafe { libc::read(fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ) {
            return Ok(None);
        }
        return Err(err);
    }
    if n as usize != size {
        return Ok(None);
    }
    // SAFETY: the kernel filled the whole structure.
    Ok(Some(unsafe { info.assume_init() }.ssi_signo as i32))
}

/// Polls several descriptors for input; returns which are readable (or hung up).
pub fn poll_readable(
    fds: &[std::os::fd::BorrowedFd<'_>],
    timeout_ms: i32,
) -> io::Result<Vec<bool>> {
    use std::os::fd::AsRawFd;
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `pfds` is a valid array of pollfd of the given length.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if ret >= 0 {
            return Ok(pfds.iter().map(|p| p.revents != 0).collect());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
