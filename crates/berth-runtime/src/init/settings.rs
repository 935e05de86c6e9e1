//! The per-process settings, applied in runc's order right before `execve` (shared by the
//! container's init and by `exec`). See `crate::process` for the order and why.

use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;

use super::InitError;
use super::lookup::find_program;
use crate::process::seccomp::CompiledFilter;
use crate::process::{caps, console, lsm, oom, rlimits, user};
use crate::sys;

/// A resolved program ready for `execve`.
#[derive(Debug)]
pub struct Program {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub display: PathBuf,
}

/// Resolves `process.args[0]` via the process's PATH (call inside the container's root).
pub fn resolve(process: &Process) -> Result<Program, InitError> {
    let args = process.args().as_deref().unwrap_or_default();
    let first = args.first().ok_or(InitError::NotFound {
        program: String::new(),
    })?;
    let env = process.env().as_deref().unwrap_or_default();
    let display = find_program(first, env)?;
    let cstr = |s: &str, field| CString::new(s).map_err(|_| InitError::NulByte { field });
    Ok(Program {
        path: CString::new(display.as_os_str().as_encoded_bytes()).map_err(|_| {
            InitError::NulByte {
                field: "process.args[0]",
            }
        })?,
        argv: args
            .iter()
            .map(|a| cstr(a, "process.args"))
            .collect::<Result<_, _>>()?,
        envp: env
            .iter()
            .map(|e| cstr(e, "process.env"))
            .collect::<Result<_, _>>()?,
        display,
    })
}

/// rlimits → oom → lsm → console → (seccomp without NNP) → bounding set → keep caps → user →
/// caps → no_new_privs → (seccomp with NNP). `console_socket` is where the pty master goes
/// when `process.terminal` is set.
pub fn apply(
    process: &Process,
    seccomp_filter: Option<&CompiledFilter>,
    console_socket: Option<&Path>,
) -> Result<(), InitError> {
    if let Some(limits) = process.rlimits().as_deref().filter(|l| !l.is_empty()) {
        rlimits::apply(limits)?;
    }
    if let Some(score) = process.oom_score_adj() {
        oom::set_score_adj(score)?;
    }
    let selinux = process.selinux_label().as_deref();
    let apparmor = process.apparmor_profile().as_deref();
    if selinux.is_some() || apparmor.is_some() {
        lsm::apply(apparmor, selinux)?;
    }
    if process.terminal().unwrap_or(false) {
        setup_terminal(process, console_socket)?;
    }
    let nnp = process.no_new_privileges().unwrap_or(false);
    if !nnp && let Some(filter) = seccomp_filter {
        filter.load()?;
    }
    let cwd = process.cwd();
    let early_chdir = std::env::set_current_dir(cwd);
    if let Some(c) = process.capabilities() {
        caps::drop_bounding(c)?;
        caps::set_keep(true)?;
    }
    user::switch(process.user())?;
    if let Some(c) = process.capabilities() {
        caps::set_keep(false)?;
        caps::apply(c)?;
    }
    if early_chdir.is_err() {
        std::env::set_current_dir(cwd).map_err(|source| InitError::Cwd {
            path: cwd.clone(),
            source,
        })?;
    }
    if nnp {
        sys::proc::set_no_new_privs().map_err(InitError::sys("prctl(PR_SET_NO_NEW_PRIVS)"))?;
        if let Some(filter) = seccomp_filter {
            filter.load()?;
        }
    }
    Ok(())
}

fn setup_terminal(process: &Process, console_socket: Option<&Path>) -> Result<(), InitError> {
    let socket = console_socket.ok_or_else(|| InitError::Syscall {
        step: "terminal",
        source: std::io::Error::other("process.terminal is set but no console socket was given"),
    })?;
    let pty = console::open_pty()?;
    if let Some(size) = process.console_size() {
        console::set_size(&pty.master, &size)?;
    }
    console::send_master(socket, &pty.master)?;
    drop(pty.master);
    console::attach_as_controlling(pty.slave)?;
    Ok(())
}

/// Replaces the process with `program`; returns only on failure. Descriptors 3..3+`preserve_fds`
/// (runc's `--preserve-fds`, e.g. socket activation) stay open.
/// With a `trampoline` (see `init::trampoline`), through it.
pub fn exec(program: &Program, preserve_fds: u32, trampoline: Option<BorrowedFd<'_>>) -> InitError {
    // Nothing of the runtime's may leak into the container: no descriptors (the exec fifo and
    // sync socket are already close-on-exec) and no ignored signals (Rust ignores SIGPIPE).
    if let Err(source) = sys::fd::cloexec_from(3 + preserve_fds) {
        return InitError::Syscall {
            step: "close_range",
            source,
        };
    }
    sys::signal::reset_dispositions();
    let source = match trampoline {
        Some(fd) => super::trampoline::exec(fd, &program.path, &program.argv, &program.envp),
        None => sys::exe::execve(&program.path, &program.argv, &program.envp),
    };
    match source.raw_os_error() {
        Some(libc::ENOENT) => InitError::NotFound {
            program: program.display.display().to_string(),
        },
        Some(libc::EACCES) => InitError::NotExecutable {
            path: program.display.clone(),
        },
        _ => InitError::Exec {
            path: program.display.clone(),
            source,
        },
    }
}
