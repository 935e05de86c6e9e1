//! Foreground `run`/`exec`: forward signals to the container process, proxy its pty to our
//! stdio when it has a terminal and the caller gave no console socket, and return its exit code.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::sys;
use crate::sys::signal::SigSet;

#[derive(Debug, thiserror::Error)]
pub enum ForegroundError {
    #[error("process.terminal is set: --detach needs --console-socket")]
    DetachedTerminal,
    #[error("console socket {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("receiving the pty master: {0}")]
    ReceiveMaster(crate::process::console::ConsoleError),
    #[error("signals: {0}")]
    Signals(std::io::Error),
    #[error("waiting for pid {pid}: {source}")]
    Wait { pid: i32, source: std::io::Error },
}

/// How the container process's terminal is handled.
#[derive(Debug)]
pub enum TtySetup {
    None,
    /// The caller's `--console-socket` gets the master.
    External {
        handle: File,
    },
    /// We listen on our own socket and proxy the master to our stdio.
    Proxy {
        listener: UnixListener,
        path: PathBuf,
        handle: File,
    },
}

/// `/proc/self/fd/N` of an `O_PATH` handle: lets the process connect to the socket after
/// it has pivoted into the container's root, where the host path is not visible.
fn via_fd(handle: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd()))
}

/// An `O_PATH` handle on a console socket and the `/proc/self/fd` path that reaches it.
pub fn socket_handle(path: &Path) -> Result<(File, PathBuf), ForegroundError> {
    let handle = open_path(path)?;
    let via = via_fd(&handle);
    Ok((handle, via))
}

fn open_path(path: &Path) -> Result<File, ForegroundError> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(path)
        .map_err(|source| ForegroundError::Socket {
            path: path.to_path_buf(),
            source,
        })
}

impl TtySetup {
    pub fn prepare(
        terminal: bool,
        console_socket: Option<&Path>,
        detach: bool,
        scratch_dir: &Path,
    ) -> Result<TtySetup, ForegroundError> {
        match (terminal, console_socket) {
            (false, _) => Ok(TtySetup::None),
            (true, Some(path)) => Ok(TtySetup::External {
                handle: open_path(path)?,
            }),
            (true, None) if detach => Err(ForegroundError::DetachedTerminal),
            (true, None) => {
                let path = scratch_dir.join(format!(".console-{}.sock", std::process::id()));
                let _ = std::fs::remove_file(&path);
                let listener =
                    UnixListener::bind(&path).map_err(|source| ForegroundError::Socket {
                        path: path.clone(),
                        source,
                    })?;
                let handle = open_path(&path)?;
                Ok(TtySetup::Proxy {
                    listener,
                    path,
                    handle,
                })
            }
        }
    }

    /// The path the container process connects to (through our fd), if any.
    pub fn socket_path(&self) -> Option<PathBuf> {
        match self {
            TtySetup::None => None,
            TtySetup::External { handle, .. } | TtySetup::Proxy { handle, .. } => {
                Some(via_fd(handle))
            }
        }
    }
}

impl Drop for TtySetup {
    fn drop(&mut self) {
        if let TtySetup::Proxy { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Blocks every signal (before the container process is forked, so none is lost); the
/// process unblocks them itself before `execve`.
pub fn block_signals() -> Result<SigSet, ForegroundError> {
    let all = SigSet::all();
    all.block().map_err(ForegroundError::Signals)?;
    Ok(all)
}

/// Proxies the pty (if any), forwards signals to `pid`, reaps children, returns the exit code.
pub fn wait(pid: i32, signals: SigSet, tty: TtySetup) -> Result<i32, ForegroundError> {
    let sigfd = sys::signal::signalfd(&signals).map_err(ForegroundError::Signals)?;
    let master = match &tty {
        TtySetup::Proxy { listener, .. } => Some(receive_master(listener)?),
        _ => None,
    };
    let _raw = master.as_ref().and_then(|m| RawStdin::enter(m.as_fd()));
    let mut master_file = master.map(File::from);
    let stdin = std::io::stdin();
    let mut stdin_open = master_file.is_some();
    // Reap anything that exited before the signalfd existed.
    if let Some(code) = reap(pid)? {
        drain(master_file.as_mut());
        return Ok(code);
    }
    loop {
        let mut fds: Vec<BorrowedFd<'_>> = vec![sigfd.as_fd()];
        if let Some(m) = &master_file {
            fds.push(m.as_fd());
            if stdin_open {
                fds.push(stdin.as_fd());
            }
        }
        let ready = sys::signal::poll_readable(&fds, -1).map_err(ForegroundError::Signals)?;
        if ready[0] {
            while let Some(sig) =
                sys::signal::read_signalfd(sigfd.as_fd()).map_err(ForegroundError::Signals)?
            {
                match sig {
                    libc::SIGCHLD => {
                        if let Some(code) = reap(pid)? {
                            drain(master_file.as_mut());
                            return Ok(code);
                        }
                    }
                    libc::SIGWINCH => {
                        if let Some(m) = &master_file {
                            copy_winsize(m.as_fd());
                        }
                    }
                    other => {
                        let _ = sys::proc::kill(pid, other);
                    }
                }
            }
        }
        if ready.len() > 1 && ready[1] && !pump(master_file.as_mut(), &mut std::io::stdout()) {
            master_file = None;
        }
        if ready.len() > 2 && ready[2] {
            let mut buf = [0u8; 4096];
            match std::io::stdin().lock().read(&mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    if let Some(m) = master_file.as_mut() {
                        let _ = m.write_all(&buf[..n]);
                    }
                }
            }
        }
    }
}

/// Reaps every exited child; the exit code of `pid` once it is among them.
fn reap(pid: i32) -> Result<Option<i32>, ForegroundError> {
    let mut result = None;
    loop {
        match sys::proc::wait_any(-1, libc::WNOHANG) {
            Ok(Some((p, exit))) if p == pid => result = Some(exit.as_code()),
            Ok(Some(_)) => {}
            Ok(None) => return Ok(result),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => return Ok(result),
            Err(source) => return Err(ForegroundError::Wait { pid, source }),
        }
    }
}

/// Copies one chunk from the master to `out`; false once the master is closed (EIO).
fn pump(master: Option<&mut File>, out: &mut impl Write) -> bool {
    let Some(master) = master else { return false };
    let mut buf = [0u8; 8192];
    match master.read(&mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
            true
        }
    }
}

/// After the process exited: copy whatever output is still buffered in the pty.
fn drain(mut master: Option<&mut File>) {
    while let Some(m) = master.as_deref_mut() {
        if !sys::fd::wait_readable(m.as_fd(), 0).unwrap_or(false)
            || !pump(Some(m), &mut std::io::stdout())
        {
            break;
        }
    }
}

fn receive_master(listener: &UnixListener) -> Result<OwnedFd, ForegroundError> {
    crate::process::console::recv_master(listener).map_err(ForegroundError::ReceiveMaster)
}

fn copy_winsize(master: BorrowedFd<'_>) {
    if let Ok(size) = rustix::termios::tcgetwinsize(std::io::stdin()) {
        let _ = rustix::termios::tcsetwinsize(master, size);
    }
}

/// Our stdin in raw mode while proxying; restored when dropped.
struct RawStdin(rustix::termios::Termios);

impl RawStdin {
    fn enter(master: BorrowedFd<'_>) -> Option<RawStdin> {
        let stdin = std::io::stdin();
        if !rustix::termios::isatty(&stdin) {
            return None;
        }
        copy_winsize(master);
        let saved = rustix::termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw).ok()?;
        Some(RawStdin(saved))
    }
}

impl Drop for RawStdin {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.0,
        );
    }
}
