//! Docker's multiplexed stdout/stderr stream (non-TTY attach, logs, exec): frames of an 8-byte
//! header `[stream, 0, 0, 0, len(u32 BE)]` followed by `len` bytes of that stream's output.

use std::io::{self, Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Stdin,
    Stdout,
    Stderr,
    /// Docker ≥ 1.42 may send a system-error stream (3).
    System,
}

#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    #[error("reading the multiplexed stream: {0}")]
    Io(#[from] io::Error),
    #[error("bad multiplexed stream header: stream type {kind}")]
    BadStream { kind: u8 },
}

/// Reads frames one at a time.
#[derive(Debug)]
pub struct Demux<R> {
    inner: R,
}

impl<R: Read> Demux<R> {
    pub fn new(inner: R) -> Self {
        Demux { inner }
    }

    /// The next frame, or `None` at a clean end of stream.
    pub fn next_frame(&mut self) -> Result<Option<(StreamKind, Vec<u8>)>, MuxError> {
        let mut header = [0u8; 8];
        let mut filled = 0;
        while filled < header.len() {
            match self.inner.read(&mut header[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => {
                    return Err(MuxError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "stream ended inside a frame header",
                    )));
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let kind = match header[0] {
            0 => StreamKind::Stdin,
            1 => StreamKind::Stdout,
            2 => StreamKind::Stderr,
            3 => StreamKind::System,
            kind => return Err(MuxError::BadStream { kind }),
        };
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let mut payload = vec![0u8; len];
        self.inner.read_exact(&mut payload)?;
        Ok(Some((kind, payload)))
    }

    /// Copies every frame to `stdout` or `stderr` until the stream ends.
    pub fn copy_to(
        &mut self,
        stdout: &mut impl Write,
        stderr: &mut impl Write,
    ) -> Result<(), MuxError> {
        while let Some((kind, payload)) = self.next_frame()? {
            match kind {
                StreamKind::Stdin | StreamKind::Stdout => {
                    stdout.write_all(&payload)?;
                    stdout.flush()?;
                }
                StreamKind::Stderr | StreamKind::System => {
                    stderr.write_all(&payload)?;
                    stderr.flush()?;
                }
            }
        }
        Ok(())
    }
}

/// Encodes one frame (for tests and servers).
pub fn encode_frame(kind: StreamKind, payload: &[u8]) -> Vec<u8> {
    let code = match kind {
        StreamKind::Stdin => 0,
        StreamKind::Stdout => 1,
        StreamKind::Stderr => 2,
        StreamKind::System => 3,
    };
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = vec![code, 0, 0, 0];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload[..len as usize]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stdout_and_stderr() {
        let mut wire = encode_frame(StreamKind::Stdout, b"out1\n");
        wire.extend(encode_frame(StreamKind::Stderr, b"err\n"));
        wire.extend(encode_frame(StreamKind::Stdout, b""));
        wire.extend(encode_frame(StreamKind::Stdout, b"out2\n"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        Demux::new(&wire[..]).copy_to(&mut out, &mut err).unwrap();
        assert_eq!(out, b"out1\nout2\n");
        assert_eq!(err, b"err\n");
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        let mut d = Demux::new(&b"\x07\0\0\0\0\0\0\x01x"[..]);
        assert!(matches!(
            d.next_frame(),
            Err(MuxError::BadStream { kind: 7 })
        ));
        let mut d = Demux::new(&b"\x01\0\0"[..]);
        assert!(d.next_frame().is_err());
        let mut d = Demux::new(&b"\x01\0\0\0\0\0\0\x09abc"[..]);
        assert!(d.next_frame().is_err());
    }

    /// Frames survive arbitrary read boundaries.
    #[test]
    fn one_byte_reads() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let wire = encode_frame(StreamKind::Stderr, b"hello world");
        let mut d = Demux::new(Trickle(&wire));
        assert_eq!(
            d.next_frame().unwrap(),
            Some((StreamKind::Stderr, b"hello world".to_vec()))
        );
        assert_eq!(d.next_frame().unwrap(), None);
    }
}
