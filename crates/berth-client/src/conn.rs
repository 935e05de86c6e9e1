//! One byte stream to the daemon, over a unix or a TCP socket.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;

use crate::error::Error;
use crate::host::Host;

#[derive(Debug)]
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

pub fn connect(host: &Host) -> Result<Stream, Error> {
    let stream = match host {
        Host::Unix(path) => UnixStream::connect(path).map(Stream::Unix),
        Host::Tcp(addr) => TcpStream::connect(addr.as_str()).map(|s| {
            let _ = s.set_nodelay(true);
            Stream::Tcp(s)
        }),
    };
    stream.map_err(|source| Error::Connect {
        host: host.to_string(),
        source,
    })
}

impl Stream {
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    /// Half-closes our side: the server sees EOF on stdin but can keep answering.
    pub fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    /// With MSG_NOSIGNAL: the CLI restores the default SIGPIPE action (for `berth ps | head`),
    /// and a daemon that answers (an error) and closes before reading a whole upload must not
    /// kill it silently; the write fails instead and the answer can still be read.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let flags = rustix::net::SendFlags::NOSIGNAL;
        Ok(match self {
            Stream::Unix(s) => rustix::net::send(&*s, buf, flags)?,
            Stream::Tcp(s) => rustix::net::send(&*s, buf, flags)?,
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}
