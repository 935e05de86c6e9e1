//! The attach socket: every connected client gets the live output (Docker's multiplexed
//! framing, or raw bytes with a tty) and may send stdin. A client that cannot take a frame
//! right away is disconnected: the container never waits for an attacher.

use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use rustix::net::SendFlags;

use crate::jsonlog::Stream;

/// One attached client.
#[derive(Debug)]
pub struct Attacher {
    pub id: u64,
    stream: UnixStream,
    /// False once the client shut down its sending side.
    pub input_open: bool,
}

impl Attacher {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    /// Reads stdin bytes the client sent; `None` at EOF or on error.
    pub fn read_input(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self.stream.read(buf) {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                Some(0)
            }
            Err(_) => None,
        }
    }
}

#[derive(Debug)]
pub struct AttachHub {
    listener: UnixListener,
    pub clients: Vec<Attacher>,
    next_id: u64,
    tty: bool,
    frame: Vec<u8>,
}

impl AttachHub {
    pub fn new(listener: UnixListener, tty: bool) -> std::io::Result<AttachHub> {
        listener.set_nonblocking(true)?;
        Ok(AttachHub {
            listener,
            clients: Vec::new(),
            next_id: 0,
            tty,
            frame: Vec::new(),
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// Accepts every pending connection.
    pub fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.next_id += 1;
            self.clients.push(Attacher {
                id: self.next_id,
                stream,
                input_open: true,
            });
        }
    }

    /// Waits up to `timeout` for a first client, then accepts every pending one.
    pub fn wait_first(&mut self, timeout: std::time::Duration) {
        let ts = rustix::fs::Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            &self.listener,
            rustix::event::PollFlags::IN,
        )];
        // EINTR: poll again (a signal is no attacher).
        while let Err(rustix::io::Errno::INTR) = rustix::event::poll(&mut fds, Some(&ts)) {}
        self.accept();
    }

    /// Sends `data` to every client; clients that cannot take the whole frame now are dropped.
    pub fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        self.frame.clear();
        if !self.tty {
            self.frame.extend_from_slice(&[stream as u8, 0, 0, 0]);
            self.frame
                .extend_from_slice(&(data.len() as u32).to_be_bytes());
        }
        self.frame.extend_from_slice(data);
        let frame = &self.frame;
        self.clients.retain(|c| {
            let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
            matches!(rustix::net::send(&c.stream, frame, flags), Ok(n) if n == frame.len())
        });
        if self.frame.capacity() > 256 * 1024 {
            self.frame = Vec::new();
        }
    }

    pub fn remove(&mut self, id: u64) {
        self.clients.retain(|c| c.id != id);
    }

    /// Ends every attachment (the container is gone): clients see EOF.
    pub fn close_all(&mut self) {
        self.clients.clear();
    }
}
