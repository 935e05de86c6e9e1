//! A tiny fork harness for the per-process settings tests: the settings change the calling
//! process irreversibly (caps, uid, seccomp), so each case runs in a forked child that reports
//! back over a pipe and ends with `_exit` (never returning into the test harness).
//!
//! The child is a copy of a multi-threaded process: it only runs the code under test
//! (syscalls; glibc keeps malloc usable after fork) and never touches the harness's locks.

#![allow(dead_code)]

pub mod seccomp_rules;

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};

/// How a forked child ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code and whatever the child wrote to the report pipe.
    Exited { code: i32, report: String },
    /// Killed by this signal.
    Signaled { signal: i32, report: String },
}

impl Outcome {
    /// Panics (in the parent) unless the child exited 0; returns its report.
    pub fn expect_ok(self) -> String {
        match self {
            Outcome::Exited { code: 0, report } => report,
            other => panic!("child failed: {other:?}"),
        }
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
    (r, w)
}

fn write_all(fd: i32, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid readable buffer of `rest.len()` bytes; `fd` is open.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the child without running the harness's atexit handlers or
    // destructors, which belong to the parent.
    unsafe { libc::_exit(code) }
}

fn wait(pid: i32, report: OwnedFd) -> Outcome {
    let mut text = String::new();
    File::from(report)
        .read_to_string(&mut text)
        .expect("read child report");
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our own unreaped child and `status` a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
    if libc::WIFSIGNALED(status) {
        Outcome::Signaled {
            signal: libc::WTERMSIG(status),
            report: text,
        }
    } else {
        Outcome::Exited {
            code: libc::WEXITSTATUS(status),
            report: text,
        }
    }
}

/// Runs `body` in a forked child. `Ok(text)` → exit 0 with `text` as the report; `Err(text)`
/// → exit 1. A panic in the child becomes exit 101 (it never unwinds into the harness).
pub fn in_child<F: FnOnce() -> Result<String, String>>(body: F) -> Outcome {
    spawn_child(body).wait()
}

/// A forked child not yet waited for.
pub struct Pending {
    pid: i32,
    report: OwnedFd,
}

impl Pending {
    pub fn wait(self) -> Outcome {
        wait(self.pid, self.report)
    }
}

/// Like `in_child` but returns at once, so the parent can interact with the child.
pub fn spawn_child<F: FnOnce() -> Result<String, String>>(body: F) -> Pending {
    let (read, write) = pipe();
    // SAFETY: fork has no preconditions; the child below only runs `body` and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        drop(read);
        let fd = write.as_raw_fd();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        let (code, text) = match result {
            Ok(Ok(text)) => (0, text),
            Ok(Err(text)) => (1, text),
            Err(_) => (101, "child panicked".to_string()),
        };
        write_all(fd, text.as_bytes());
        exit_now(code);
    }
    drop(write);
    Pending { pid, report: read }
}

/// Runs `setup` in a forked child, then execs `argv` (absolute path first) with its stdout
/// captured. A `setup` error is reported as exit 1 with the message; an exec failure as 127.
pub fn exec_in_child<F: FnOnce() -> Result<(), String>>(setup: F, argv: &[&str]) -> Outcome {
    exec(setup, argv, true)
}

/// Like `exec_in_child`, but the program writes to whatever stdout `setup` left in place.
pub fn exec_in_child_own_stdio<F: FnOnce() -> Result<(), String>>(
    setup: F,
    argv: &[&str],
) -> Outcome {
    exec(setup, argv, false)
}

fn exec<F: FnOnce() -> Result<(), String>>(setup: F, argv: &[&str], capture: bool) -> Outcome {
    let args: Vec<CString> = argv.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let env = [c"PATH=/bin".as_ptr(), std::ptr::null()];
    let (out_read, out_write) = pipe();
    let (err_read, err_write) = pipe();
    // SAFETY: see `in_child`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        drop(out_read);
        drop(err_read);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(setup));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(text)) => {
                write_all(err_write.as_raw_fd(), text.as_bytes());
                exit_now(1);
            }
            Err(_) => exit_now(101),
        }
        if capture {
            // SAFETY: dup2 onto stdout of a pipe end we own; the pipe end is close-on-exec.
            unsafe { libc::dup2(out_write.as_raw_fd(), 1) };
        }
        // SAFETY: `ptrs` and `env` are NULL-terminated arrays of valid C strings that
        // outlive the call (execve does not return on success).
        unsafe { libc::execve(ptrs[0], ptrs.as_ptr(), env.as_ptr()) };
        write_all(err_write.as_raw_fd(), b"execve failed");
        exit_now(127);
    }
    drop(out_write);
    drop(err_write);
    let mut stdout = String::new();
    File::from(out_read)
        .read_to_string(&mut stdout)
        .expect("read child stdout");
    match wait(pid, err_read) {
        Outcome::Exited { code: 0, .. } => Outcome::Exited {
            code: 0,
            report: stdout,
        },
        other => other,
    }
}

/// The value of `field` in a `/proc/<pid>/status` text, e.g. `CapEff`.
pub fn status_field<'a>(status: &'a str, field: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {field} in status:\n{status}"))
        .trim()
}

/// A hex capability mask as `/proc/self/status` prints it.
pub fn cap_mask(numbers: &[u32]) -> String {
    format!("{:016x}", numbers.iter().fold(0u64, |m, n| m | (1 << n)))
}

/// `/bin/busybox` from busybox-static: the tests exec it to look at themselves.
pub fn busybox() -> &'static str {
    let path = "/bin/busybox";
    assert!(
        std::path::Path::new(path).is_file(),
        "this test needs {path} (package busybox-static)"
    );
    path
}

/// Drops one capability from the effective set of the calling (child) process, so a test can
/// check the error for a missing privilege whatever the host grants.
pub fn drop_effective(cap: u32) -> Result<(), String> {
    use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
    let mut sets = capabilities(None).map_err(|e| format!("capget: {e}"))?;
    sets.effective
        .remove(CapabilitySet::from_bits_retain(1 << cap));
    set_capabilities(None, sets).map_err(|e| format!("capset: {e}"))
}

/// The raw errno of the last failed libc call.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
