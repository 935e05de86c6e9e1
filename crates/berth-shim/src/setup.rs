//! Bringing the container up: stdio (pipes, or a pty whose master we receive on a console
//! socket), `create` through the runtime library with the init inheriting that stdio, `start`.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use berth_runtime::container::{self, CreateError, CreateOptions, StartError};
use rustix::pipe::{PipeFlags, pipe_with};

use crate::args::Args;
use crate::daemon;
use crate::paths::{self, CONSOLE_SOCKET};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("creating {what}: {source}")]
    Stdio {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("console socket {path}: {source}")]
    Console {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("receiving the pty master: {0}")]
    Master(#[from] berth_runtime::process::console::ConsoleError),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Start(#[from] StartError),
}

impl SetupError {
    /// 127/126 when the container's program is missing/not executable (like Docker), else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            SetupError::Create(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// The shim's ends of the container's stdio.
#[derive(Debug)]
pub enum Stdio {
    Pipes {
        stdin: Option<File>,
        stdout: File,
        stderr: File,
    },
    Tty {
        master: File,
    },
}

/// A created and started container.
#[derive(Debug)]
pub struct Running {
    pub pid: i32,
    pub cgroups_path: String,
    pub stdio: Stdio,
}

fn io_err(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> SetupError {
    move |e| SetupError::Stdio {
        what,
        source: e.into(),
    }
}

/// Creates and starts the container; on failure nothing of it is left.
pub fn bring_up(args: &Args) -> Result<Running, SetupError> {
    let mut opts = CreateOptions::new(
        args.runtime_root.clone(),
        args.id.clone(),
        args.bundle.clone(),
    );
    let (created, stdio) = if args.tty {
        let path = paths::in_state_dir(&args.state_dir, CONSOLE_SOCKET);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).map_err(|source| SetupError::Console {
            path: path.clone(),
            source,
        })?;
        opts.console_socket = Some(path.clone());
        let created = container::create(&opts);
        // The init connected (and sent the master) during create; the path is no longer needed.
        let _ = std::fs::remove_file(&path);
        let created = created?;
        match berth_runtime::process::console::recv_master(&listener) {
            Ok(master) => (
                created,
                Stdio::Tty {
                    master: master.into(),
                },
            ),
            Err(e) => {
                let _ = container::delete(&opts.root, &opts.id, true);
                return Err(e.into());
            }
        }
    } else {
        create_with_pipes(&opts, args.stdin)?
    };
    if let Err(e) = container::start(&opts.root, &opts.id) {
        let _ = container::delete(&opts.root, &opts.id, true);
        return Err(e.into());
    }
    Ok(Running {
        pid: created.pid,
        cgroups_path: created.record.cgroups_path,
        stdio,
    })
}

/// Puts the container's pipe ends on our fds 0-2 for the duration of `create` (the init
/// inherits them), then points ours back at /dev/null.
fn create_with_pipes(
    opts: &CreateOptions,
    with_stdin: bool,
) -> Result<(container::Created, Stdio), SetupError> {
    let (out_r, out_w) = pipe_with(PipeFlags::CLOEXEC).map_err(io_err("stdout pipe"))?;
    let (err_r, err_w) = pipe_with(PipeFlags::CLOEXEC).map_err(io_err("stderr pipe"))?;
    let (stdin_ours, stdin_theirs): (Option<OwnedFd>, OwnedFd) = if with_stdin {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).map_err(io_err("stdin pipe"))?;
        (Some(w), r)
    } else {
        let null = File::open("/dev/null").map_err(|source| SetupError::Stdio {
            what: "/dev/null",
            source,
        })?;
        (None, null.into())
    };
    rustix::stdio::dup2_stdin(stdin_theirs.as_fd()).map_err(io_err("dup2 stdin"))?;
    rustix::stdio::dup2_stdout(out_w.as_fd()).map_err(io_err("dup2 stdout"))?;
    rustix::stdio::dup2_stderr(err_w.as_fd()).map_err(io_err("dup2 stderr"))?;
    let created = container::create(opts)?;
    if let Err(source) = daemon::null_stdio() {
        let _ = container::delete(&opts.root, &opts.id, true);
        return Err(SetupError::Stdio {
            what: "stdio to /dev/null",
            source,
        });
    }
    Ok((
        created,
        Stdio::Pipes {
            stdin: stdin_ours.map(File::from),
            stdout: out_r.into(),
            stderr: err_r.into(),
        },
    ))
}
