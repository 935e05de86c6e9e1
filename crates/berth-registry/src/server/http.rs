//! Small HTTP helpers: response bodies, query strings, header access.

use std::io::Read;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::error::ApiError;

pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;
pub type Resp = Response<Body>;

pub const API_VERSION_HEADER: &str = "Docker-Distribution-API-Version";
pub const DIGEST_HEADER: &str = "Docker-Content-Digest";
pub const UPLOAD_UUID_HEADER: &str = "Docker-Upload-UUID";

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn empty_body() -> Body {
    full(Bytes::new())
}

/// A response builder with the API version header every response carries.
pub fn response(status: StatusCode) -> hyper::http::response::Builder {
    Response::builder()
        .status(status)
        .header(API_VERSION_HEADER, "registry/2.0")
}

/// Finishes a builder; header values we set are always valid, but never panic if not.
pub fn finish(builder: hyper::http::response::Builder, body: Body) -> Resp {
    builder.body(body).unwrap_or_else(|e| {
        tracing::error!(error = %e, "building a response");
        let mut resp = Response::new(empty_body());
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

pub fn json_response(status: StatusCode, value: &serde_json::Value, content_type: &str) -> Resp {
    let bytes = value.to_string().into_bytes();
    let builder = response(status)
        .header("Content-Type", content_type)
        .header("Content-Length", bytes.len());
    finish(builder, full(bytes))
}

pub fn error_response(err: &ApiError, head_only: bool) -> Resp {
    let body = err.body();
    let mut builder = response(err.code.status())
        .header("Content-Type", "application/json")
        .header("Content-Length", body.len());
    for (name, value) in &err.headers {
        builder = builder.header(*name, value);
    }
    finish(builder, if head_only { empty_body() } else { full(body) })
}

pub fn header<'a>(headers: &'a HeaderMap<HeaderValue>, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Query parameters, percent-decoded; repeated keys (e.g. `scope`) are all kept.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(query) = query else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query value (for `Link` headers).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Streams `len` bytes of `file` (from its current position) as a response body: a blocking
/// reader thread fills 256 KiB buffers, at most two queued, so a download holds < 1 MiB.
pub fn file_body(mut file: std::fs::File, len: u64) -> std::io::Result<Body> {
    const CHUNK: usize = 256 << 10;
    const SMALL: u64 = 64 << 10;
    if len <= SMALL {
        // Small blobs (configs, tiny layers): one read from the page cache beats a thread hop.
        let mut buf = vec![0u8; len as usize];
        file.read_exact(&mut buf)?;
        return Ok(full(buf));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::task::spawn_blocking(move || {
        let mut remaining = len;
        while remaining > 0 {
            let want = remaining.min(CHUNK as u64) as usize;
            let mut buf = vec![0u8; want];
            let result = file.read_exact(&mut buf).map(|()| Bytes::from(buf));
            let failed = result.is_err();
            if tx.blocking_send(result).is_err() || failed {
                return;
            }
            remaining -= want as u64;
        }
    });
    Ok(ChannelBody { rx, remaining: len }.boxed_unsync())
}

struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    remaining: u64,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        match self.rx.poll_recv(cx) {
            std::task::Poll::Ready(Some(Ok(bytes))) => {
                self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
                std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes))))
            }
            std::task::Poll::Ready(Some(Err(e))) => std::task::Poll::Ready(Some(Err(e))),
            std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let q = query_pairs(Some(
            "digest=sha256%3Aab&from=a%2Fb&scope=x&scope=y&bad=%zz&tail=%4",
        ));
        assert_eq!(query_get(&q, "digest"), Some("sha256:ab"));
        assert_eq!(query_get(&q, "from"), Some("a/b"));
        assert_eq!(q.iter().filter(|(k, _)| k == "scope").count(), 2);
        assert_eq!(query_get(&q, "bad"), Some("%zz"));
        assert_eq!(query_get(&q, "tail"), Some("%4"));
        assert_eq!(percent_encode("a/b:c"), "a%2Fb%3Ac");
    }
}
