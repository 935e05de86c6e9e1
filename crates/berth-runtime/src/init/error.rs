//! What can go wrong between `clone` and `execve`, reported to the parent over the sync channel.

use std::path::PathBuf;

use crate::channel::ChannelError;
use crate::process::{caps, console, hooks, lsm, oom, rlimits, seccomp, user};
use crate::rootfs::RootfsError;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("waiting for the runtime: {0}")]
    Channel(#[from] ChannelError),
    #[error("runtime sent an unexpected message: {got}")]
    Protocol { got: String },
    #[error("{step}: {source}")]
    Syscall {
        step: &'static str,
        source: std::io::Error,
    },
    #[error("rootfs: {0}")]
    Rootfs(#[from] RootfsError),
    #[error("running {kind} hooks: {source}")]
    Hook {
        kind: &'static str,
        source: hooks::HookError,
    },
    #[error("console: {0}")]
    Console(#[from] console::ConsoleError),
    #[error("rlimits: {0}")]
    Rlimits(#[from] rlimits::RlimitError),
    #[error("oom_score_adj: {0}")]
    Oom(#[from] oom::OomError),
    #[error("apparmor/selinux: {0}")]
    Lsm(#[from] lsm::LsmError),
    #[error("capabilities: {0}")]
    Caps(#[from] caps::CapsError),
    #[error("user: {0}")]
    User(#[from] user::UserError),
    #[error("seccomp: {0}")]
    Seccomp(#[from] seccomp::SeccompError),
    #[error("chdir to cwd {path}: {source}")]
    Cwd {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("exec: {program:?}: executable file not found in $PATH")]
    NotFound { program: String },
    #[error("exec: {path}: permission denied (not an executable file)")]
    NotExecutable { path: PathBuf },
    #[error("exec {path}: {source}")]
    Exec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid string for exec (NUL byte) in {field}")]
    NulByte { field: &'static str },
}

impl InitError {
    /// The shell convention the caller exits with: 127 not found, 126 not executable.
    pub fn exit_code(&self) -> i32 {
        match self {
            InitError::NotFound { .. } => 127,
            InitError::NotExecutable { .. } => 126,
            _ => 1,
        }
    }

    pub(crate) fn sys(step: &'static str) -> impl FnOnce(std::io::Error) -> InitError {
        move |source| InitError::Syscall { step, source }
    }
}
