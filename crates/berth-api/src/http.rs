//! Request and response helpers shared by the routes.

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;
pub type Resp = Response<Body>;
pub type Req = Request<Incoming>;
pub type Result<T> = std::result::Result<T, ApiError>;

/// JSON request bodies larger than this are refused (a container config is a few KiB).
pub const MAX_JSON_BODY: usize = 8 << 20;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn empty() -> Body {
    full(Bytes::new())
}

/// Finishes a builder; the headers we set are valid, but never panic if one is not.
pub fn finish(builder: hyper::http::response::Builder, body: Body) -> Resp {
    builder.body(body).unwrap_or_else(|e| {
        tracing::error!(error = %e, "building a response");
        let mut resp = Response::new(empty());
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Resp {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    finish(
        Response::builder()
            .status(status)
            .header("Content-Type", "application/json"),
        full(bytes),
    )
}

pub fn status(status: StatusCode) -> Resp {
    finish(Response::builder().status(status), empty())
}

pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    finish(
        Response::builder()
            .status(status)
            .header("Content-Type", "text/plain; charset=utf-8"),
        full(body),
    )
}

pub fn error(err: &ApiError) -> Resp {
    if err.status == StatusCode::NOT_MODIFIED {
        return status(err.status);
    }
    json(err.status, &serde_json::json!({ "message": err.message }))
}

/// The request's query string, decoded (`a=1&b=x%20y`).
pub fn query(req: &Req) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in req.uri().query().unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

/// Docker's boolean query values: `1`, `true`, `True` (anything else is false).
pub fn query_bool(q: &HashMap<String, String>, key: &str) -> bool {
    matches!(
        q.get(key).map(String::as_str),
        Some("1" | "true" | "True" | "TRUE")
    )
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() + 1 => {
                match (hex(bytes[i + 1]), bytes.get(i + 2).and_then(|b| hex(*b))) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes a path segment (`%2F` and friends; `+` stays a plus in paths).
pub fn percent_decode_path(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

/// Reads the whole body (up to `limit` bytes).
pub async fn body_bytes(req: Req, limit: usize) -> Result<Bytes> {
    Limited::new(req.into_body(), limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))
}

/// Parses a JSON body; an empty body is `T::default()`-like only where the caller allows it.
pub async fn json_body<T: DeserializeOwned>(req: Req) -> Result<T> {
    let bytes = body_bytes(req, MAX_JSON_BODY).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A streamed response body fed from a channel: each `Bytes` sent becomes one frame (one
/// chunk on the wire); dropping the sender ends the body. `tx.send` fails once the client is
/// gone, which tells producers to stop.
pub fn channel_body() -> (tokio::sync::mpsc::UnboundedSender<Bytes>, Body) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (tx, ChannelBody { rx }.boxed_unsync())
}

struct ChannelBody {
    rx: tokio::sync::mpsc::UnboundedReceiver<Bytes>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}

/// The request body as a blocking `Read` for engine code running in `spawn_blocking`: a task
/// pumps hyper's frames into a small bounded channel (back-pressure, not buffering).
pub fn body_reader(req: Req) -> BodyReader {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Bytes>>(8);
    let mut body = req.into_body();
    tokio::spawn(async move {
        loop {
            let item = match body.frame().await {
                None => return,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => Ok(data),
                    Err(_) => continue, // trailers
                },
                Some(Err(e)) => Err(std::io::Error::other(e)),
            };
            let failed = item.is_err();
            let tx = tx.clone();
            // A full channel blocks: hand the send to the blocking pool.
            let sent = tokio::task::spawn_blocking(move || tx.send(item).is_ok())
                .await
                .unwrap_or(false);
            if !sent || failed {
                return;
            }
        }
    });
    BodyReader {
        rx,
        current: Bytes::new(),
    }
}

pub struct BodyReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(Ok(bytes)) => self.current = bytes,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Every value of a repeated query parameter (`t=a&t=b`), decoded.
pub fn query_all(req: &Req, key: &str) -> Vec<String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
        .collect()
}
