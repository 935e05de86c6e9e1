//! `run`: create + start, then (foreground) wait with signal forwarding and delete.

use std::path::PathBuf;

use super::create::{Bundle, CreateError, CreateOptions, InitOrigin, create_to_start};
use super::delete::{DeleteError, delete, delete_found};
use super::foreground::{self, ForegroundError, TtySetup};
use super::lookup::Found;
use super::start::{StartError, start_opened};
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Foreground(#[from] ForegroundError),
    #[error(transparent)]
    Delete(#[from] DeleteError),
    #[error("cannot become a child subreaper: {0}")]
    Subreaper(std::io::Error),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Create(e) => e.exit_code(),
            _ => 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub create: CreateOptions,
    pub detach: bool,
    /// Where to put our own console socket when proxying a terminal (foreground only).
    pub scratch_dir: PathBuf,
}

/// Returns the container's exit code (foreground) or 0 once started (detached); the init
/// comes from `origin` (see [`create_from`](super::create_from)).
pub fn run(opts: &RunOptions, origin: InitOrigin) -> Result<i32, RunError> {
    std::fs::create_dir_all(&opts.scratch_dir).map_err(|source| ForegroundError::Socket {
        path: opts.scratch_dir.clone(),
        source,
    })?;
    let mut create_opts = opts.create.clone();
    let bundle = Bundle::load(&opts.create.bundle)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let tty = if opts.detach || create_opts.console_socket.is_some() {
        TtySetup::None
    } else {
        TtySetup::prepare(terminal, None, false, &opts.scratch_dir)?
    };
    if let TtySetup::Proxy { path, .. } = &tty {
        create_opts.console_socket = Some(path.clone());
    }
    if opts.detach {
        let (created, fifo) = create_to_start(&create_opts, bundle, origin)?;
        let found = Found::of(created.record, &create_opts.root, &create_opts.id);
        if let Err(e) = start_opened(found, fifo) {
            let _ = delete(&create_opts.root, &create_opts.id, true);
            return Err(e.into());
        }
        return Ok(0);
    }
    sys::proc::set_child_subreaper().map_err(RunError::Subreaper)?;
    let signals = foreground::block_signals()?;
    let (created, fifo) = create_to_start(&create_opts, bundle, origin)?;
    // We hold the record we just saved: no need to read it back for start and delete.
    let (root, id) = (&create_opts.root, &create_opts.id);
    let waited = match start_opened(Found::of(created.record.clone(), root, id), fifo) {
        Ok(()) => foreground::wait(created.pid, signals, tty).map_err(RunError::from),
        Err(e) => Err(e.into()),
    };
    let deleted = delete_found(Found::of(created.record, root, id), true);
    let code = waited?;
    deleted?;
    Ok(code)
}
