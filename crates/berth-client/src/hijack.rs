//! Connection hijack for attach and exec start: ask for `Upgrade: tcp`, read the 101, then the
//! socket is a raw bidirectional byte stream (multiplexed unless the container has a TTY).

use std::io::{self, BufReader, Read, Write};

use crate::conn::{self, Stream};
use crate::error::Error;
use crate::http::{self, Body};
use crate::{Client, Query};

/// The two halves of a hijacked connection.
#[derive(Debug)]
pub struct Hijacked {
    /// What the daemon sends (any bytes it sent right after the 101 are kept buffered here).
    pub reader: BufReader<Stream>,
    /// What we send (stdin).
    pub writer: Stream,
}

impl Hijacked {
    /// Signals end of stdin while still reading output.
    pub fn close_write(&self) -> io::Result<()> {
        self.writer.shutdown_write()
    }
}

impl Read for Hijacked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Client {
    /// POSTs `path` asking to upgrade the connection and returns the raw stream.
    pub fn hijack(&self, path: &str, query: &Query, body: Body) -> Result<Hijacked, Error> {
        let target = format!("/v{}{}{}", self.version, path, query.as_suffix());
        let mut stream = conn::connect(&self.host)?;
        let headers = [("Connection", "Upgrade"), ("Upgrade", "tcp")];
        http::write_head(&mut stream, "POST", &target, &headers, &body)
            .map_err(Error::io("sending the attach request"))?;
        http::write_body(&mut stream, body).map_err(Error::io("sending the attach request"))?;
        stream
            .flush()
            .map_err(Error::io("sending the attach request"))?;
        let writer = stream
            .try_clone()
            .map_err(Error::io("cloning the attach socket"))?;
        let mut reader = BufReader::with_capacity(32 * 1024, stream);
        let (status, _headers) = http::read_head(&mut reader)?;
        match status {
            // Daemons before the upgrade dance answered 200 and then streamed raw.
            101 | 200 => Ok(Hijacked { reader, writer }),
            _ => {
                // Re-read the error body with normal framing.
                let response = http::response_from_head(reader, "POST", &target, status, _headers)?;
                match response.error_for_status() {
                    Err(e) => Err(e),
                    Ok(_) => Err(Error::NotUpgraded { status }),
                }
            }
        }
    }
}
