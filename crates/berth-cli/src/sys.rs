//! The few OS calls std does not offer: a new session for the daemon we start, blocking
//! SIGWINCH/SIGINT/SIGTERM for a signal-waiting thread.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child a session leader, so it survives our terminal closing.
pub fn detach_into_new_session(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and calls only setsid(2),
    // which is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
}

/// A set of signals, blocked in the calling thread (and threads it spawns afterwards).
pub struct BlockedSignals(libc::sigset_t);

impl BlockedSignals {
    pub fn block(signals: &[libc::c_int]) -> std::io::Result<BlockedSignals> {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, exclusively borrowed sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        for &signal in signals {
            // SAFETY: as above; an invalid signal number only makes sigaddset fail.
            unsafe { libc::sigaddset(&mut set, signal) };
        }
        // SAFETY: `set` is initialised; a null old-set pointer is allowed.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        Ok(BlockedSignals(set))
    }

    /// Waits for one of the blocked signals (they must be blocked in every thread).
    pub fn wait(&self) -> std::io::Result<libc::c_int> {
        let mut signal: libc::c_int = 0;
        // SAFETY: `self.0` is an initialised sigset and `signal` a valid out-pointer.
        let rc = unsafe { libc::sigwait(&self.0, &mut signal) };
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        Ok(signal)
    }
}

// SAFETY: a sigset_t is plain data, read-only after construction.
unsafe impl Send for BlockedSignals {}
// SAFETY: as above.
unsafe impl Sync for BlockedSignals {}

/// Restores the default SIGPIPE action (Rust ignores it), so `berth ps | head` ends quietly
/// as other Unix tools do instead of panicking in `println!`.
pub fn default_sigpipe() {
    // SAFETY: setting the disposition of SIGPIPE to SIG_DFL installs no handler code; it is
    // done first thing in main, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
