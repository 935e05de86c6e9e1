//! `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`, with single `Range` requests.

use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderValue};

use super::parse_digest;
use crate::server::Registry;
use crate::server::error::{ApiError, ErrorCode};
use crate::server::http::{DIGEST_HEADER, Resp, empty_body, file_body, finish, header, response};
use crate::server::names::RepoName;

/// A satisfiable byte range `start..=end` of a blob of `total` bytes.
#[derive(Debug, PartialEq, Eq)]
struct ByteRange {
    start: u64,
    end: u64,
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`. `Ok(None)`: ignore the header (serve all);
/// `Err(())`: unsatisfiable.
fn parse_range(value: &str, total: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multipart ranges: serve the whole blob, as RFC 9110 allows
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || total == 0 {
            return Err(());
        }
        ByteRange {
            start: total.saturating_sub(n),
            end: total - 1,
        }
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            total.saturating_sub(1)
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(total.saturating_sub(1))
        };
        if start >= total || end < start {
            return Err(());
        }
        ByteRange { start, end }
    };
    Ok(Some(range))
}

/// What a successful blob GET sends: status, headers, and which bytes of which file.
#[derive(Debug)]
pub struct BlobReply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub file: std::fs::File,
    pub start: u64,
    pub len: u64,
}

/// Resolves a blob GET/HEAD (repository link, Range) without producing a body yet, so the
/// plain-TCP fast path can `sendfile` the same reply hyper would stream.
pub fn prepare(
    registry: &Registry,
    name: &RepoName,
    raw: &str,
    headers: &HeaderMap<HeaderValue>,
) -> Result<BlobReply, ApiError> {
    let digest = parse_digest(raw)?;
    let storage = &registry.storage;
    let in_repo = storage.layer_linked(name, &digest) || storage.revision(name, &digest)?.is_some();
    let opened = if in_repo {
        storage.open_blob(&digest)?
    } else {
        None
    };
    let Some((file, total)) = opened else {
        return Err(ApiError::new(
            ErrorCode::BlobUnknown,
            serde_json::json!({"digest": digest.to_string()}),
        ));
    };
    let mut reply = BlobReply {
        status: StatusCode::OK,
        headers: vec![
            (DIGEST_HEADER, digest.to_string()),
            ("Content-Type", "application/octet-stream".to_owned()),
            ("Accept-Ranges", "bytes".to_owned()),
            ("ETag", format!("\"{digest}\"")),
            ("Cache-Control", "max-age=31536000".to_owned()),
        ],
        file,
        start: 0,
        len: total,
    };
    match header(headers, "range").map(|r| parse_range(r, total)) {
        None | Some(Ok(None)) => {}
        Some(Ok(Some(r))) => {
            reply.status = StatusCode::PARTIAL_CONTENT;
            reply.headers.push((
                "Content-Range",
                format!("bytes {}-{}/{total}", r.start, r.end),
            ));
            reply.start = r.start;
            reply.len = r.end - r.start + 1;
        }
        Some(Err(())) => {
            return Err(
                ApiError::new(ErrorCode::RangeInvalid, format!("blob has {total} bytes"))
                    .with_header("Content-Range", format!("bytes */{total}")),
            );
        }
    }
    reply
        .headers
        .push(("Content-Length", reply.len.to_string()));
    Ok(reply)
}

pub fn get(
    registry: &Registry,
    name: &RepoName,
    raw: &str,
    headers: &HeaderMap<HeaderValue>,
    head: bool,
) -> Result<Resp, ApiError> {
    let BlobReply {
        status,
        headers,
        mut file,
        start,
        len,
    } = prepare(registry, name, raw, headers)?;
    let mut builder = response(status);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    if head {
        return Ok(finish(builder, empty_body()));
    }
    if start > 0 {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(start))
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("seek blob {raw}: {e}")))?;
    }
    let body = file_body(file, len)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("read blob {raw}: {e}")))?;
    Ok(finish(builder, body))
}

/// Unlinks the blob from the repository; `gc` reclaims the bytes once nothing uses them.
pub fn delete(registry: &Registry, name: &RepoName, raw: &str) -> Result<Resp, ApiError> {
    let digest = parse_digest(raw)?;
    if !registry.delete_enabled {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            "deletion is disabled on this registry",
        ));
    }
    if !registry.storage.unlink_layer(name, &digest)? {
        return Err(ApiError::new(
            ErrorCode::BlobUnknown,
            serde_json::json!({"digest": digest.to_string()}),
        ));
    }
    Ok(finish(
        response(StatusCode::ACCEPTED).header("Content-Length", 0),
        empty_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(
            parse_range("bytes=0-9", 100),
            Ok(Some(ByteRange { start: 0, end: 9 }))
        );
        assert_eq!(
            parse_range("bytes=90-", 100),
            Ok(Some(ByteRange { start: 90, end: 99 }))
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            Ok(Some(ByteRange { start: 90, end: 99 }))
        );
        assert_eq!(
            parse_range("bytes=50-500", 100),
            Ok(Some(ByteRange { start: 50, end: 99 }))
        );
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=9-3", 100), Err(()));
        assert_eq!(parse_range("bytes=x-3", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
