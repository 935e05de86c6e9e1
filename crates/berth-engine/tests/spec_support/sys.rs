//! Forking a child that runs a container in the foreground: `container::run` makes the
//! calling process a child subreaper and blocks signals, which must stay out of the test
//! harness (and its reaping must not steal other tests' children).

/// Runs `body` in a forked child and returns its exit code (128 + signal when killed).
pub fn in_child(body: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork has no preconditions; the child only runs `body` (which starts the container
    // with syscalls and allocations; glibc keeps malloc usable after fork) and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
        // SAFETY: ends the forked child without unwinding into the test harness's stack.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our own unreaped child and `status` a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR),
            "waitpid"
        );
    }
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}
