//! Terminals: a pty for `process.terminal`, its master sent to the caller's console socket
//! over `SCM_RIGHTS` (as runc does), the slave made the process's controlling terminal.

use std::os::fd::OwnedFd;
use std::path::Path;

use oci_spec::runtime::Box as ConsoleSize;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console not implemented yet")]
    Unimplemented,
}

/// A freshly opened pseudo-terminal pair.
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Opens a new pty pair (in the current mount namespace's `/dev/ptmx`).
pub fn open_pty() -> Result<Pty, ConsoleError> {
    Err(ConsoleError::Unimplemented)
}

/// Connects to the unix socket at `socket` and sends `master` with `SCM_RIGHTS`.
pub fn send_master(socket: &Path, master: &OwnedFd) -> Result<(), ConsoleError> {
    let _ = (socket, master);
    Err(ConsoleError::Unimplemented)
}

/// Sets the window size (`TIOCSWINSZ`).
pub fn set_size(fd: &OwnedFd, size: &ConsoleSize) -> Result<(), ConsoleError> {
    let _ = (fd, size);
    Err(ConsoleError::Unimplemented)
}

/// In the process about to exec: new session, `slave` as controlling terminal and as
/// stdin/stdout/stderr.
pub fn attach_as_controlling(slave: OwnedFd) -> Result<(), ConsoleError> {
    let _ = slave;
    Err(ConsoleError::Unimplemented)
}
