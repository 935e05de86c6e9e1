//! Attach with `logs=1`: before the live stream, Docker replays what the container has logged so
//! far, in the stream's own framing (raw bytes with a tty, multiplexed frames without one) and
//! only for the streams the client asked for.

use std::path::PathBuf;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use berth_engine::io::logs::{self, Flow, LogEntry, LogOptions, Stream};

use super::stream::{StreamType, frame};

/// Which of the container's output streams a replay carries.
#[derive(Debug, Clone, Copy)]
pub struct Replay {
    pub tty: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Replay {
    /// One log entry as the attach stream carries it.
    fn chunk(&self, entry: LogEntry) -> Bytes {
        if self.tty {
            return Bytes::from(entry.line);
        }
        let stream = match entry.stream {
            Stream::Stdout => StreamType::Stdout,
            Stream::Stderr => StreamType::Stderr,
        };
        frame(stream, &entry.line)
    }
}

/// Writes the log at `path` (everything so far, no follow) to `out`. A read error ends the
/// replay early (logged): the live stream still follows, as with Docker's log driver errors.
pub async fn replay_log<W>(path: PathBuf, replay: Replay, out: &mut W) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    if !replay.stdout && !replay.stderr {
        return Ok(());
    }
    let (tx, mut rx) = mpsc::channel::<Bytes>(16);
    let opts = LogOptions {
        stdout: replay.stdout,
        stderr: replay.stderr,
        ..LogOptions::default()
    };
    let producer = tokio::task::spawn_blocking(move || {
        let mut sink = |entry: LogEntry| match tx.blocking_send(replay.chunk(entry)) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        };
        if let Err(e) = logs::read_logs(&path, &opts, &|| false, &mut sink) {
            tracing::warn!(error = %e, "attach: replaying the container's log");
        }
    });
    while let Some(chunk) = rx.recv().await {
        out.write_all(&chunk).await?;
    }
    let _ = producer.await;
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_log(lines: &[(&str, &str)]) -> tempfile::NamedTempFile {
        let mut text = String::new();
        for (stream, line) in lines {
            let entry = serde_json::json!({
                "log": line,
                "stream": stream,
                "time": "2026-01-02T03:04:05.000000006Z",
            });
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[tokio::test]
    async fn replays_wanted_streams_in_the_streams_framing() {
        let log = write_log(&[
            ("stdout", "out1\n"),
            ("stderr", "err1\n"),
            ("stdout", "out2\n"),
        ]);
        let path = log.path().to_path_buf();
        let mut out = Vec::new();
        let multiplexed = Replay {
            tty: false,
            stdout: true,
            stderr: true,
        };
        replay_log(path.clone(), multiplexed, &mut out)
            .await
            .unwrap();
        let mut expected = frame(StreamType::Stdout, b"out1\n").to_vec();
        expected.extend_from_slice(&frame(StreamType::Stderr, b"err1\n"));
        expected.extend_from_slice(&frame(StreamType::Stdout, b"out2\n"));
        assert_eq!(out, expected);

        let mut out = Vec::new();
        let stderr_only = Replay {
            stdout: false,
            ..multiplexed
        };
        replay_log(path.clone(), stderr_only, &mut out)
            .await
            .unwrap();
        assert_eq!(out, frame(StreamType::Stderr, b"err1\n").to_vec());

        let mut out = Vec::new();
        let raw = Replay {
            tty: true,
            ..multiplexed
        };
        replay_log(path, raw, &mut out).await.unwrap();
        assert_eq!(out, b"out1\nerr1\nout2\n");
    }

    #[tokio::test]
    async fn a_missing_log_replays_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let replay = Replay {
            tty: false,
            stdout: true,
            stderr: true,
        };
        replay_log(dir.path().join("none.log"), replay, &mut out)
            .await
            .unwrap();
        assert!(out.is_empty());
    }
}
