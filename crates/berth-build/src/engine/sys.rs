//! Running a closure in a forked child whose stdout/stderr go to a pipe we read: the runtime
//! library starts the container from that child, so the container inherits the pipe, and the
//! process-wide changes `run` makes (child subreaper, blocked signals) stay out of the caller.

use std::io::{self, Read};
use std::os::fd::AsRawFd;

/// How the child ended and what it (and the container) printed.
#[derive(Debug)]
pub struct Captured {
    /// Exit code, or 128 + signal number when killed.
    pub code: i32,
}

/// Forks; the child runs `body` with stdin on /dev/null and stdout+stderr on a pipe, then
/// `_exit`s with its result. `on_output` sees every chunk the parent reads.
pub fn run_captured(
    body: impl FnOnce() -> i32,
    mut on_output: impl FnMut(&[u8]),
) -> io::Result<Captured> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let null = std::fs::File::open("/dev/null")?;
    // SAFETY: fork has no preconditions. The child only rearranges its own fds, runs `body`
    // (which starts the container; glibc keeps malloc usable after fork) and `_exit`s without
    // returning into the caller or running its destructors.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(read);
        // SAFETY: dup2 onto this child's own stdio numbers from fds it owns.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(write.as_raw_fd(), 1);
            libc::dup2(write.as_raw_fd(), 2);
        }
        let code =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|_| {
                use std::io::Write;
                let _ = writeln!(io::stderr(), "berth-build: the step's launcher panicked");
                125
            });
        // SAFETY: ends the forked child without unwinding into the caller's stack.
        unsafe { libc::_exit(code) }
    }
    drop(write);
    drop(null);
    let mut pipe = std::fs::File::from(read);
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => on_output(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let code = wait(pid)?;
    Ok(Captured { code })
}

fn wait(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our own unreaped child; `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    })
}
