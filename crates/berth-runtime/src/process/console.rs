//! Terminals: a pty for `process.terminal`, its master sent to the caller's console socket
//! over `SCM_RIGHTS` (as runc does), the slave made the process's controlling terminal.
//!
//! Wire protocol (runc's): one message whose payload is the pty's name and whose single
//! `SCM_RIGHTS` control message carries the master fd.

use std::ffi::OsString;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Box as ConsoleSize;
use rustix::fs::{Mode, OFlags};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;

/// Longest pty name we accept in a console-socket message.
const MAX_NAME: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("opening a pty master via /dev/ptmx: {source}")]
    OpenMaster { source: io::Error },
    #[error("{step} on the pty master: {source}")]
    Master {
        step: &'static str,
        source: io::Error,
    },
    #[error("opening pty slave {path}: {source}")]
    OpenSlave { path: PathBuf, source: io::Error },
    #[error("connecting to console socket {path}: {source}")]
    Connect { path: PathBuf, source: io::Error },
    #[error("sending the pty master to console socket {path}: {source}")]
    Send { path: PathBuf, source: io::Error },
    #[error("accepting a connection on the console socket: {source}")]
    Accept { source: io::Error },
    #[error("receiving the pty master from the console socket: {source}")]
    Receive { source: io::Error },
    #[error("console socket message carried no file descriptor")]
    NoFdReceived,
    #[error("console size {width}x{height} does not fit a terminal (max 65535x65535)")]
    SizeOutOfRange { width: u64, height: u64 },
    #[error("setting the window size to {width}x{height}: {source}")]
    SetSize {
        width: u64,
        height: u64,
        source: io::Error,
    },
    #[error("{step} while making the pty the controlling terminal: {source}")]
    Attach {
        step: &'static str,
        source: io::Error,
    },
}

/// A freshly opened pseudo-terminal pair.
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

fn master_err(step: &'static str) -> impl FnOnce(rustix::io::Errno) -> ConsoleError {
    move |e| ConsoleError::Master {
        step,
        source: e.into(),
    }
}

/// The slave's path (`/dev/pts/N`) for a master, via `TIOCGPTN`.
pub fn slave_path(master: &OwnedFd) -> Result<PathBuf, ConsoleError> {
    let name = rustix::pty::ptsname(master, Vec::new()).map_err(master_err("ptsname"))?;
    Ok(PathBuf::from(OsString::from_vec(name.into_bytes())))
}

/// Opens a new pty pair (in the current mount namespace's `/dev/ptmx`).
pub fn open_pty() -> Result<Pty, ConsoleError> {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master =
        rustix::pty::openpt(flags).map_err(|e| ConsoleError::OpenMaster { source: e.into() })?;
    rustix::pty::grantpt(&master).map_err(master_err("grantpt"))?;
    rustix::pty::unlockpt(&master).map_err(master_err("unlockpt"))?;
    // TIOCGPTPEER (Linux 4.13+) opens the slave without a path lookup, so a hostile
    // /dev/pts cannot substitute another file; fall back to the path on older kernels.
    let slave = match rustix::pty::ioctl_tiocgptpeer(&master, flags) {
        Ok(slave) => slave,
        Err(_) => {
            let path = slave_path(&master)?;
            rustix::fs::open(
                &path,
                OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| ConsoleError::OpenSlave {
                path: path.clone(),
                source: e.into(),
            })?
        }
    };
    Ok(Pty { master, slave })
}

/// Connects to the unix socket at `socket` and sends `master` with `SCM_RIGHTS`.
pub fn send_master(socket: &Path, master: &OwnedFd) -> Result<(), ConsoleError> {
    let stream = UnixStream::connect(socket).map_err(|source| ConsoleError::Connect {
        path: socket.to_path_buf(),
        source,
    })?;
    let name = slave_path(master)?;
    let payload = name.as_os_str().as_encoded_bytes();
    let fds = [master.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(
        &stream,
        &[IoSlice::new(payload)],
        &mut control,
        SendFlags::empty(),
    )
    .map_err(|e| ConsoleError::Send {
        path: socket.to_path_buf(),
        source: e.into(),
    })?;
    Ok(())
}

/// Accepts one connection on a console socket and returns the pty master sent over it
/// (the receiving side of `send_master`, for the daemon/shim and tests).
pub fn recv_master(listener: &UnixListener) -> Result<OwnedFd, ConsoleError> {
    let (stream, _) = listener
        .accept()
        .map_err(|source| ConsoleError::Accept { source })?;
    let mut name = vec![0u8; MAX_NAME];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    rustix::net::recvmsg(
        &stream,
        &mut [IoSliceMut::new(&mut name)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| ConsoleError::Receive { source: e.into() })?;
    let mut received = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for fd in fds {
                // Keep the first; any extra fds are closed when dropped.
                received.get_or_insert(fd);
            }
        }
    }
    received.ok_or(ConsoleError::NoFdReceived)
}

/// Sets the window size (`TIOCSWINSZ`).
pub fn set_size(fd: &OwnedFd, size: &ConsoleSize) -> Result<(), ConsoleError> {
    let (width, height) = (size.width(), size.height());
    let (Ok(ws_col), Ok(ws_row)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(ConsoleError::SizeOutOfRange { width, height });
    };
    let winsize = Winsize {
        ws_row,
        ws_col,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, winsize).map_err(|e| ConsoleError::SetSize {
        width,
        height,
        source: e.into(),
    })
}

/// In the process about to exec: new session, `slave` as controlling terminal and as
/// stdin/stdout/stderr.
pub fn attach_as_controlling(slave: OwnedFd) -> Result<(), ConsoleError> {
    let attach = |step| {
        move |e: rustix::io::Errno| ConsoleError::Attach {
            step,
            source: e.into(),
        }
    };
    rustix::process::setsid().map_err(attach("setsid"))?;
    rustix::process::ioctl_tiocsctty(&slave).map_err(attach("TIOCSCTTY"))?;
    rustix::stdio::dup2_stdin(&slave).map_err(attach("dup2 onto stdin"))?;
    rustix::stdio::dup2_stdout(&slave).map_err(attach("dup2 onto stdout"))?;
    rustix::stdio::dup2_stderr(&slave).map_err(attach("dup2 onto stderr"))?;
    if slave.as_raw_fd() <= 2 {
        // The slave already is one of the standard fds (dup2 onto itself keeps close-on-exec,
        // so clear it): keep it open instead of closing it on drop.
        rustix::io::fcntl_setfd(&slave, rustix::io::FdFlags::empty())
            .map_err(attach("clearing close-on-exec"))?;
        let _ = slave.into_raw_fd();
    }
    Ok(())
}
