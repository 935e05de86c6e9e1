//! berth-init: PID 1 for `docker run --init`, installed at `/sbin/docker-init`.
//!
//! `berth-init [--] cmd [args…]` starts `cmd` in its own process group, forwards every
//! signal it receives to that group, reaps every child (orphans re-parented to it included),
//! and exits with `cmd`'s exit code, or 128 + the signal that killed it.

mod sys;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// Exit code when the command cannot be started (the shell's "command not found").
const EXIT_USAGE: i32 = 2;
const EXIT_EXEC_FAILED: i32 = 127;

fn main() {
    let mut args: Vec<CString> = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match CString::new(arg.as_bytes()) {
            Ok(c) => args.push(c),
            Err(_) => fail(EXIT_USAGE, "an argument contains a NUL byte"),
        }
    }
    if args.first().is_some_and(|a| a.as_bytes() == b"--") {
        args.remove(0);
    }
    if args.is_empty() {
        fail(EXIT_USAGE, "usage: berth-init [--] command [args...]");
    }
    std::process::exit(supervise(&args));
}

/// Runs the command and supervises it; returns the code to exit with.
fn supervise(args: &[CString]) -> i32 {
    let old_mask = match sys::block_all_signals() {
        Ok(mask) => mask,
        Err(e) => fail(1, &format!("blocking signals: {e}")),
    };
    // Outside a PID namespace (tests, `berth-init` run by hand) orphans still come to us.
    if std::process::id() != 1 {
        let _ = sys::become_subreaper();
    }
    let child = match sys::spawn(args, &old_mask) {
        Ok(pid) => pid,
        Err(e) => fail(EXIT_EXEC_FAILED, &format!("starting {:?}: {e}", args[0])),
    };
    loop {
        match sys::wait_signal() {
            Ok(libc::SIGCHLD) => {
                if let Some(status) = reap(child) {
                    return status;
                }
            }
            Ok(signal) => sys::forward(child, signal),
            Err(e) => fail(1, &format!("waiting for signals: {e}")),
        }
    }
}

/// Reaps every exited child; `Some(code)` once `child` itself exited.
fn reap(child: libc::pid_t) -> Option<i32> {
    let mut result = None;
    while let Some((pid, status)) = sys::reap_one() {
        if pid == child {
            result = Some(exit_code(status));
        }
    }
    result
}

fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("berth-init: {message}");
    std::process::exit(code)
}
