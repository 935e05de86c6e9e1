//! `POST /containers/{id}/attach`: Docker's hijacked connection. We answer `101 UPGRADED`
//! (`Upgrade: tcp`) and splice the upgraded connection with the shim's attach socket: output
//! (multiplexed frames without a tty, raw with one) to the client, stdin from it. With `logs=1`
//! the container's log so far comes first; with `stream=0` only that, and no live stream.

use std::collections::HashMap;

use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use berth_engine::io::detach_keys::{self, EscapeDetector};

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;
use crate::routes::container_io::attach_logs::{Replay, replay_log};

/// Which output streams the client asked for (frames of the others are dropped).
#[derive(Debug, Clone, Copy)]
struct Wanted {
    stdout: bool,
    stderr: bool,
}

pub async fn handle(
    ctx: &Ctx,
    id: String,
    q: &HashMap<String, String>,
    mut req: Req,
) -> http::Result<Resp> {
    let wants_upgrade = req
        .headers()
        .get(hyper::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
    if !wants_upgrade {
        return Err(ApiError::bad_request(
            "attach needs an upgraded connection (Connection: Upgrade, Upgrade: tcp)",
        ));
    }
    let stdin = http::query_bool(q, "stdin");
    let wanted = Wanted {
        stdout: http::query_bool(q, "stdout"),
        stderr: http::query_bool(q, "stderr"),
    };
    let detach = detach_keys::parse(q.get("detachKeys").map_or("", String::as_str))
        .map_err(ApiError::from_engine)?;
    let logs = http::query_bool(q, "logs");
    // As Docker: without `stream=1` the connection carries only the replayed log (if any).
    let stream = http::query_bool(q, "stream");
    let (tx, rx) = oneshot::channel();
    let container = crate::routes::container_io::container(ctx, &id)?;
    let log_path = ctx.engine.paths.log(&container.id);
    let tty = if stream {
        super::blocking(ctx, move |e| {
            e.attach_container(
                &id,
                Box::new(move |stream| {
                    let _ = tx.send(stream);
                }),
            )
        })
        .await?
    } else {
        container.snapshot().config.tty.unwrap_or(false)
    };
    let replay = logs.then_some(Replay {
        tty,
        stdout: wanted.stdout,
        stderr: wanted.stderr,
    });
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let mut client = match upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(e) => {
                tracing::debug!(error = %e, "attach: upgrade failed");
                return;
            }
        };
        if let Some(replay) = replay
            && replay_log(log_path, replay, &mut client).await.is_err()
        {
            return;
        }
        if !stream {
            let _ = client.shutdown().await;
            return;
        }
        let shim = match rx.await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "attach: no stream");
                return;
            }
            Err(_) => return,
        };
        let shim = match shim
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(shim))
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "attach: adopting the shim connection");
                return;
            }
        };
        splice(client, shim, stdin, tty, wanted, detach).await;
    });
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(http::finish(
        hyper::Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("Content-Type", content_type)
            .header("Connection", "Upgrade")
            .header("Upgrade", "tcp"),
        http::empty(),
    ))
}

/// Copies until the shim's side ends (the container exited, or the client went away), or the
/// client typed the detach keys (`detach`, with a tty only, as Docker).
async fn splice<C>(
    client: C,
    shim: tokio::net::UnixStream,
    stdin: bool,
    tty: bool,
    wanted: Wanted,
    detach: Vec<u8>,
) where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut shim_read, mut shim_write) = shim.into_split();
    let input = async move {
        if !stdin {
            return std::future::pending::<()>().await;
        }
        let mut escape = tty.then(|| EscapeDetector::new(detach));
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let Some(escape) = escape.as_mut() else {
                if shim_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                continue;
            };
            let scanned = escape.scan(&buf[..n]);
            if !scanned.forward.is_empty() && shim_write.write_all(&scanned.forward).await.is_err()
            {
                break;
            }
            if scanned.detach {
                tracing::debug!("attach: detached by the detach keys");
                return;
            }
        }
        // A terminal's input does not end, so with a tty the container's stdin stays open;
        // without one the EOF is passed on (the shim closes the container's stdin for
        // StdinOnce containers). Either way the output is still drained to the client: a
        // client that half-closes (`docker run -it` whose stdin hit EOF) must still get
        // everything the container writes, and one that went away ends the output side
        // at its next write.
        if !tty {
            let _ = shim_write.shutdown().await;
        }
        std::future::pending::<()>().await
    };
    let output = async move {
        let mut filter = FrameFilter::new(tty, wanted);
        let mut buf = vec![0u8; 32 * 1024];
        let mut out = Vec::with_capacity(32 * 1024);
        loop {
            let n = match shim_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.clear();
            filter.feed(&buf[..n], &mut out);
            if !out.is_empty() && client_write.write_all(&out).await.is_err() {
                break;
            }
        }
        let _ = client_write.flush().await;
        let _ = client_write.shutdown().await;
    };
    tokio::select! {
        () = output => {}
        () = input => {}
    }
}

/// Drops the frames of unwanted streams from Docker's multiplexed framing (8-byte header:
/// stream, 0, 0, 0, big-endian length). With a tty the bytes are raw and pass unchanged.
struct FrameFilter {
    raw: bool,
    wanted: Wanted,
    header: Vec<u8>,
    /// Bytes left in the current frame's payload, and whether they pass.
    left: usize,
    pass: bool,
}

impl FrameFilter {
    fn new(tty: bool, wanted: Wanted) -> FrameFilter {
        FrameFilter {
            raw: tty || (wanted.stdout && wanted.stderr),
            wanted,
            header: Vec::with_capacity(8),
            left: 0,
            pass: false,
        }
    }

    fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if self.raw {
            out.extend_from_slice(data);
            return;
        }
        while !data.is_empty() {
            if self.left == 0 {
                let need = 8 - self.header.len();
                let take = need.min(data.len());
                self.header.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.header.len() < 8 {
                    return;
                }
                let len = u32::from_be_bytes([
                    self.header[4],
                    self.header[5],
                    self.header[6],
                    self.header[7],
                ]) as usize;
                self.pass = match self.header[0] {
                    1 => self.wanted.stdout,
                    2 => self.wanted.stderr,
                    _ => true,
                };
                if self.pass {
                    out.extend_from_slice(&self.header);
                }
                self.header.clear();
                self.left = len;
                continue;
            }
            let take = self.left.min(data.len());
            if self.pass {
                out.extend_from_slice(&data[..take]);
            }
            self.left -= take;
            data = &data[take..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![stream, 0, 0, 0];
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn keeps_only_the_wanted_stream_across_split_reads() {
        let mut input = frame(1, b"out");
        input.extend(frame(2, b"err!"));
        input.extend(frame(1, b"again"));
        let wanted = Wanted {
            stdout: true,
            stderr: false,
        };
        let mut filter = FrameFilter::new(false, wanted);
        let mut out = Vec::new();
        for chunk in input.chunks(3) {
            filter.feed(chunk, &mut out);
        }
        let mut expected = frame(1, b"out");
        expected.extend(frame(1, b"again"));
        assert_eq!(out, expected);
        let mut raw = FrameFilter::new(true, wanted);
        let mut out = Vec::new();
        raw.feed(b"anything", &mut out);
        assert_eq!(out, b"anything");
    }
}
