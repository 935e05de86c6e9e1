//! `start`: release the init waiting on the exec fifo, then run poststart hooks.

use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::ContainerId;
use super::lookup::{self, Found, LookupError};
use super::record::{EXEC_FIFO, Status};
use crate::process::hooks;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("cannot start a container that is {status} (only created containers can be started)")]
    NotCreated { status: Status },
    #[error("exec fifo {path}: {source}")]
    Fifo {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the container's init exited before it could start")]
    InitExited,
    #[error("poststart hooks: {0}")]
    Poststart(hooks::HookError),
}

pub fn start(root: &Path, id: &ContainerId) -> Result<(), StartError> {
    start_found(lookup::find(root, id)?)
}

/// [`start`] of a container already looked up.
pub(crate) fn start_found(found: Found) -> Result<(), StartError> {
    if found.status != Status::Created {
        return Err(StartError::NotCreated {
            status: found.status,
        });
    }
    let fifo = open_fifo(&found.dir).map_err(|source| StartError::Fifo {
        path: found.dir.join(EXEC_FIFO),
        source,
    })?;
    start_opened(found, fifo)
}

/// Opens `<dir>/exec.fifo` for reading. Non-blocking, so it never hangs; the init's open for
/// writing then completes (or, if the init has not reached it yet, will not block) and it
/// writes its one byte.
pub(crate) fn open_fifo(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join(EXEC_FIFO))
}

/// [`start_found`] with the exec fifo already open ([`open_fifo`]): waits for the init's
/// byte, polling so an init that died meanwhile is noticed.
pub(crate) fn start_opened(found: Found, mut fifo: std::fs::File) -> Result<(), StartError> {
    let path = found.dir.join(EXEC_FIFO);
    let err = |source| StartError::Fifo {
        path: path.clone(),
        source,
    };
    let mut byte = [0u8; 1];
    let n = loop {
        if sys::fd::wait_readable(fifo.as_fd(), 100).map_err(err)? {
            match fifo.read(&mut byte) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                other => break other.map_err(err)?,
            }
        }
        if !found.record.init_alive() {
            break 0;
        }
    };
    std::fs::remove_file(&path).map_err(err)?;
    if n != 1 {
        return Err(StartError::InitExited);
    }
    if let Some(list) = found
        .record
        .hooks
        .as_ref()
        .and_then(|h| h.poststart().clone())
        && !list.is_empty()
    {
        let state = serde_json::to_vec(&found.record.oci_state("running")).unwrap_or_default();
        hooks::run(&list, &state).map_err(StartError::Poststart)?;
    }
    Ok(())
}
