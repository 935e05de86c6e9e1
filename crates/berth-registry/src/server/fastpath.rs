//! Plain-TCP connections: blob downloads are answered with sendfile(2), so the kernel moves
//! page-cache pages to the socket without a user-space copy. Every other request, and the rest
//! of a connection once one request is not taken here, is served by hyper (the bytes already
//! read are replayed to it).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::TcpStream;

use super::Registry;
use super::dispatch::{authorize, base_url};
use super::handlers::blobs::{BlobReply, prepare};
use super::http::API_VERSION_HEADER;
use super::routes::Route;

/// Request heads larger than this go to hyper (which enforces its own limits).
const MAX_HEAD: usize = 16 << 10;
/// Smaller blobs are not worth the special path.
const FAST_MIN_BYTES: u64 = 64 << 10;
const MAX_HEADERS: usize = 64;

pub async fn serve_plain(mut stream: TcpStream, registry: Arc<Registry>, peer: SocketAddr) {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let head_len = match read_head(&mut stream, &mut buf).await {
            Ok(Some(n)) => n,
            Ok(None) if buf.is_empty() => return,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "reading request head");
                return;
            }
        };
        let started = Instant::now();
        let Some(plan) = plan(&registry, &buf[..head_len]) else {
            break;
        };
        buf.advance(head_len);
        let status = plan.reply.status.as_u16();
        let len = plan.reply.len;
        if let Err(e) = send(&stream, plan.reply, plan.close).await {
            tracing::debug!(%peer, error = %e, "sending blob");
            return;
        }
        tracing::info!(
            %peer,
            method = %"GET",
            path = plan.path,
            status,
            bytes_in = 0,
            bytes_out = len,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            sendfile = true,
            "request"
        );
        if plan.close {
            let _ = stream.shutdown().await;
            return;
        }
    }
    let io = Rewind {
        pending: buf.freeze(),
        inner: stream,
    };
    super::serve_connection(TokioIo::new(io), registry, peer).await;
}

/// Reads until `buf` holds a complete request head; `None` at EOF or if it is not one we parse.
async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut) -> io::Result<Option<usize>> {
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            match httparse::Request::new(&mut headers).parse(buf) {
                Ok(httparse::Status::Complete(n)) => return Ok(Some(n)),
                Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
                _ => return Ok(None),
            }
        }
        if stream.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

struct Plan {
    reply: BlobReply,
    path: String,
    close: bool,
}

/// A large-blob GET that is authorized and found; anything else (errors included) is left to
/// hyper, which answers it the usual way.
fn plan(registry: &Registry, head: &[u8]) -> Option<Plan> {
    let mut raw_headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut raw_headers);
    if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    if req.method != Some("GET") || req.version != Some(1) {
        return None;
    }
    let target = req.path?;
    let path = target.split('?').next().unwrap_or(target);
    let route = Route::parse(path)?;
    let Route::Blob { digest, .. } = route else {
        return None;
    };
    let mut headers = HeaderMap::new();
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    let has_body = headers.contains_key("transfer-encoding")
        || headers
            .get("content-length")
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return None;
    }
    let close = headers
        .get("connection")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let base = base_url(registry, &headers);
    let (_, repo) = authorize(registry, &route, &Method::GET, &headers, &base).ok()?;
    let reply = prepare(registry, &repo?, digest, &headers).ok()?;
    if reply.len < FAST_MIN_BYTES {
        return None;
    }
    Some(Plan {
        reply,
        path: path.to_owned(),
        close,
    })
}

async fn send(stream: &TcpStream, reply: BlobReply, close: bool) -> io::Result<()> {
    let reason = reply
        .status
        .canonical_reason()
        .unwrap_or(if reply.status == StatusCode::OK {
            "OK"
        } else {
            ""
        });
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\n{API_VERSION_HEADER}: registry/2.0\r\n",
        reply.status.as_u16()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    write_all(stream, head.as_bytes()).await?;
    let mut offset = reply.start;
    let end = reply.start + reply.len;
    while offset < end {
        let count = (end - offset).min(1 << 30) as usize;
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, &reply.file, Some(&mut offset), count)
                .map_err(io::Error::from)
        }) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "blob shorter than its size",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        stream.writable().await?;
        match stream.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A stream that first replays bytes already read from it.
struct Rewind {
    pending: Bytes,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.remaining());
            buf.put_slice(&self.pending[..n]);
            self.pending.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
