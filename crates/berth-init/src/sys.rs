//! The system calls berth-init needs, each `unsafe` block justified.

use std::ffi::CString;
use std::io;

/// Signals a process cannot usefully block (they come from its own faults).
const SYNCHRONOUS: &[libc::c_int] = &[
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn blockable() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset/sigdelset initialise and edit it in place.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for signal in SYNCHRONOUS {
            libc::sigdelset(&mut set, *signal);
        }
        set
    }
}

/// Blocks every asynchronous signal (they are taken with `wait_signal`); returns the old mask.
pub fn block_all_signals() -> io::Result<libc::sigset_t> {
    let set = blockable();
    // SAFETY: both pointers are valid sigset_t for the duration of the call.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        check(libc::pthread_sigmask(libc::SIG_SETMASK, &set, &mut old))?;
        Ok(old)
    }
}

pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) }).map(drop)
}

/// Forks; the child leads a new process group, takes the terminal's foreground if there is
/// one, gets the original signal mask back and execs `args` (searching `PATH`).
pub fn spawn(args: &[CString], old_mask: &libc::sigset_t) -> io::Result<libc::pid_t> {
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: fork in a single-threaded process; the child only calls async-signal-safe
    // functions (setpgid, tcsetpgrp, signal, sigprocmask, execvp, _exit) on memory prepared
    // before the fork.
    unsafe {
        let pid = check(libc::fork())?;
        if pid == 0 {
            libc::setpgid(0, 0);
            // Take the foreground so the tty's signals (^C) reach the command's group.
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
            libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            // Rust's runtime ignores SIGPIPE, and exec would pass that on.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::pthread_sigmask(libc::SIG_SETMASK, old_mask, std::ptr::null_mut());
            libc::execvp(argv[0], argv.as_ptr());
            let message = b"berth-init: exec failed\n";
            libc::write(2, message.as_ptr().cast(), message.len());
            libc::_exit(127);
        }
        // Also from the parent: no race with a signal forwarded before the child ran setpgid.
        libc::setpgid(pid, pid);
        Ok(pid)
    }
}

/// Waits for the next blocked signal.
pub fn wait_signal() -> io::Result<libc::c_int> {
    let set = blockable();
    loop {
        // SAFETY: `set` is a valid sigset_t; a null siginfo pointer is allowed.
        let ret = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        match check(ret) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

/// Sends `signal` to the child's process group, or the child alone if the group is gone.
pub fn forward(child: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill takes plain integers.
    unsafe {
        if libc::kill(-child, signal) < 0 {
            libc::kill(child, signal);
        }
    }
}

/// One exited child, if any, without blocking.
pub fn reap_one() -> Option<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    (pid > 0).then_some((pid, status))
}
