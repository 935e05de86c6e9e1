//! Streaming between hyper and the blocking store: a request body read as a blocking `Read`
//! (archives are never held in memory whole), a response body fed from a channel (by a
//! blocking `Write` for `save`, or by progress callbacks for pull and push), and Docker's JSON
//! message lines.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use berth_engine::images::progress::ProgressMessage;

use crate::http::Body;

/// Chunks in flight between the connection and the blocking reader or writer.
const CHANNEL_DEPTH: usize = 16;

/// A request body as a blocking reader. Use it only on a blocking thread.
pub struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    /// Starts a task that forwards the body's data frames. Once the reader is dropped (the
    /// store is done, or failed early) the task reads the rest of the body and discards it:
    /// await the returned handle before answering, so the client is never cut off while still
    /// sending (it would see a broken pipe instead of our answer).
    pub fn spawn(mut body: Incoming) -> (BodyReader, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let task = tokio::spawn(async move {
            let mut forwarding = true;
            while let Some(frame) = body.frame().await {
                let item = match frame {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => Ok(data),
                        Err(_) => continue,
                    },
                    Err(e) => Err(io::Error::other(format!("reading the request body: {e}"))),
                };
                let failed = item.is_err();
                if forwarding && tx.send(item).await.is_err() {
                    forwarding = false;
                }
                if failed {
                    break;
                }
            }
        });
        (
            BodyReader {
                rx,
                current: Bytes::new(),
            },
            task,
        )
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A response body fed through a channel; an `Err` item aborts the response.
struct ChannelBody {
    rx: Source,
}

enum Source {
    Bounded(mpsc::Receiver<io::Result<Bytes>>),
    Unbounded(mpsc::UnboundedReceiver<Bytes>),
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.rx {
            Source::Bounded(rx) => rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data))),
            Source::Unbounded(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }
}

/// A blocking writer whose bytes become the response body.
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

/// Bytes gathered before a chunk is sent (fewer, larger frames).
const WRITE_CHUNK: usize = 256 << 10;

impl ChannelWriter {
    /// Ends the body with an error (the client sees a truncated response).
    pub fn fail(self, error: String) {
        let _ = self.tx.blocking_send(Err(io::Error::other(error)));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

/// A writer for a blocking thread and the body it feeds.
pub fn writer_body() -> (ChannelWriter, Body) {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let body = ChannelBody {
        rx: Source::Bounded(rx),
    };
    (
        ChannelWriter {
            tx,
            buffer: Vec::with_capacity(WRITE_CHUNK),
        },
        body.boxed_unsync(),
    )
}

/// A sender of JSON lines (never blocks: progress comes from transfer tasks) and its body.
pub fn lines_body() -> (mpsc::UnboundedSender<Bytes>, Body) {
    let (tx, rx) = mpsc::unbounded_channel();
    let body = ChannelBody {
        rx: Source::Unbounded(rx),
    };
    (tx, body.boxed_unsync())
}

/// One JSON message line.
pub fn line(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Docker's error message inside a stream.
pub fn error_line(message: &str) -> Bytes {
    line(&json!({"errorDetail": {"message": message}, "error": message}))
}

/// A progress message as Docker's jsonmessage.
pub fn progress_line(m: &ProgressMessage) -> Bytes {
    if let Some(aux) = &m.aux {
        return line(&json!({"progressDetail": {}, "aux": aux}));
    }
    let mut value = json!({"status": m.status});
    if let Some(id) = &m.id {
        value["id"] = json!(id);
        value["progressDetail"] = match m.detail {
            Some((current, total)) => json!({"current": current, "total": total}),
            None => json!({}),
        };
    }
    if let Some((current, total)) = m.detail {
        value["progress"] = json!(progress_bar(current, total));
    }
    line(&value)
}

/// `[=====>      ]  1.2MB/3.4MB`, as Docker draws it (50 columns).
fn progress_bar(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    if total == 0 {
        return human_size(current);
    }
    let filled = (WIDTH * current.min(total) / total) as usize;
    let mut bar = "=".repeat(filled);
    if filled < WIDTH as usize {
        bar.push('>');
    }
    format!(
        "[{bar:<50}] {:>8}/{}",
        human_size(current),
        human_size(total)
    )
}

/// Docker's `units.HumanSize`: decimal units, 4 significant digits.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let text = format!("{value:.4}");
    let digits = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{:.*}", digits, text.parse::<f64>().unwrap_or(value));
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_look_like_dockers() {
        let m = ProgressMessage {
            detail: Some((1_000_000, 2_000_000)),
            ..ProgressMessage::layer("a46fbb00284b", "Downloading")
        };
        let v: Value = serde_json::from_slice(&progress_line(&m)).unwrap();
        assert_eq!(v["id"], "a46fbb00284b");
        assert_eq!(v["progressDetail"]["total"], 2_000_000);
        assert!(v["progress"].as_str().unwrap().ends_with("1MB/2MB"));
        let v: Value =
            serde_json::from_slice(&progress_line(&ProgressMessage::line("Digest: x"))).unwrap();
        assert_eq!(v, json!({"status": "Digest: x"}));
        assert_eq!(human_size(1_984_172), "1.984MB");
        assert_eq!(human_size(512), "512B");
    }
}
