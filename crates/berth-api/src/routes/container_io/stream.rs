//! Streamed responses fed by blocking engine code: a bounded channel body (back-pressure, so
//! a slow client never makes the daemon buffer a whole rootfs), a `Write` adapter over it for
//! tar producers, and Docker's stdout/stderr multiplexing frames.

use std::io::Write;

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use crate::http::Body;

/// Chunks in flight between a producer thread and the client.
const DEPTH: usize = 16;
/// `ChannelWriter` flushes at this size.
const CHUNK: usize = 64 * 1024;

/// Docker's stream types in the 8-byte frame header.
#[derive(Debug, Clone, Copy)]
pub enum StreamType {
    Stdout = 1,
    Stderr = 2,
}

/// One multiplexed frame: `[type, 0, 0, 0, len (u32 big-endian)]` then the payload.
pub fn frame(stream: StreamType, payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.push(stream as u8);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Bytes::from(out)
}

/// A body fed from a bounded channel; dropping every sender ends it.
pub fn bounded_body() -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (tx, BoundedBody { rx }.boxed_unsync())
}

struct BoundedBody {
    rx: mpsc::Receiver<Bytes>,
}

impl http_body::Body for BoundedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}

/// A blocking `Write` into a bounded body (use from `spawn_blocking` only); fails with
/// `BrokenPipe` once the client is gone, which stops the producer.
pub struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    pub fn new(tx: mpsc::Sender<Bytes>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_like_docker() {
        assert_eq!(
            &frame(StreamType::Stderr, b"hi")[..],
            &[2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']
        );
    }
}
