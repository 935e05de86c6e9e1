//! Blob uploads: `POST /blobs/uploads/` (session, monolithic `?digest=`, or `?mount=&from=`),
//! `PATCH`/`PUT`/`GET`/`DELETE /blobs/uploads/<uuid>`.

use berth_oci::Digest;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use super::parse_digest;
use crate::server::Registry;
use crate::server::auth::{Need, Principal};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::http::{
    DIGEST_HEADER, Resp, UPLOAD_UUID_HEADER, empty_body, finish, header, query_get, response,
};
use crate::server::names::RepoName;
use crate::server::storage::uploads::{Session, UploadError, UploadId};

fn upload_error(err: UploadError, session: Option<(&RepoName, &Session, u64)>) -> ApiError {
    match err {
        UploadError::Storage(e) => e.into(),
        UploadError::OutOfOrder { expected, got } => {
            let mut e = ApiError::new(
                ErrorCode::RangeInvalid,
                format!("chunk starts at {got}, upload is at {expected}"),
            );
            if let Some((name, s, offset)) = session {
                e = e
                    .with_header("Location", upload_location(name, s))
                    .with_header("Range", range_value(offset))
                    .with_header(UPLOAD_UUID_HEADER, s.id.as_str().to_owned());
            }
            e
        }
        e @ UploadError::LengthMismatch { .. } => {
            ApiError::new(ErrorCode::SizeInvalid, e.to_string())
        }
        e @ UploadError::TooLarge { .. } => {
            ApiError::new(ErrorCode::PayloadTooLarge, e.to_string())
        }
        UploadError::DigestMismatch { expected, actual } => ApiError::new(
            ErrorCode::DigestInvalid,
            serde_json::json!({"expected": expected.to_string(), "actual": actual.to_string()}),
        ),
        e @ UploadError::TooManySessions { .. } => {
            ApiError::new(ErrorCode::TooManyRequests, e.to_string())
        }
    }
}

fn upload_location(name: &RepoName, session: &Session) -> String {
    format!("/v2/{name}/blobs/uploads/{}", session.id.as_str())
}

/// `Range: 0-<last byte>`; `0-0` for an empty upload (as distribution reports it).
fn range_value(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

fn session_response(status: StatusCode, name: &RepoName, session: &Session, offset: u64) -> Resp {
    let builder = response(status)
        .header("Location", upload_location(name, session))
        .header("Range", range_value(offset))
        .header(UPLOAD_UUID_HEADER, session.id.as_str())
        .header("Content-Length", 0);
    finish(builder, empty_body())
}

fn created(name: &RepoName, digest: &Digest) -> Resp {
    let builder = response(StatusCode::CREATED)
        .header("Location", format!("/v2/{name}/blobs/{digest}"))
        .header(DIGEST_HEADER, digest.to_string())
        .header("Content-Length", 0);
    finish(builder, empty_body())
}

fn open_session(registry: &Registry, name: &RepoName, raw_id: &str) -> Result<Session, ApiError> {
    let unknown = || {
        ApiError::new(
            ErrorCode::BlobUploadUnknown,
            serde_json::json!({"upload": raw_id}),
        )
    };
    let id = UploadId::parse(raw_id).ok_or_else(unknown)?;
    registry.uploads.get(name, &id)?.ok_or_else(unknown)
}

/// `Content-Range: <start>-<end>` (a `bytes ` prefix is tolerated) → (start, length).
fn content_range(req: &Request<Incoming>) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = header(req.headers(), "content-range") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            ErrorCode::RangeInvalid,
            format!("malformed Content-Range {value:?}"),
        )
    };
    let spec = value
        .trim()
        .trim_start_matches("bytes")
        .trim_start_matches([' ', '=']);
    let spec = spec.split('/').next().unwrap_or(spec);
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let end: u64 = b.trim().parse().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    // `0-18446744073709551615` would overflow the length.
    let len = (end - start).checked_add(1).ok_or_else(bad)?;
    Ok(Some((start, len)))
}

/// Links an existing blob into `name`; `false` if it is gone. Under the gc barrier so a
/// concurrent gc cannot delete the blob between the touch and the link.
fn mount_blob(registry: &Registry, name: &RepoName, digest: &Digest) -> Result<bool, ApiError> {
    let _lock = registry.storage.reference_lock()?;
    if !registry.storage.touch_blob(digest)? {
        return Ok(false);
    }
    registry.storage.link_layer(name, digest)?;
    Ok(true)
}

pub async fn start(
    registry: &Registry,
    name: &RepoName,
    who: &Principal,
    query: &[(String, String)],
    req: Request<Incoming>,
) -> Result<Resp, ApiError> {
    if let (Some(mount), Some(from)) = (query_get(query, "mount"), query_get(query, "from"))
        && let (Ok(digest), Ok(from)) = (mount.parse::<Digest>(), RepoName::parse(from))
        && registry.auth.can(who, &Need::repo(from.as_str(), "pull"))
        && registry.storage.layer_linked(&from, &digest)
        && tokio::task::block_in_place(|| mount_blob(registry, name, &digest))?
    {
        return Ok(created(name, &digest));
    }
    let session = tokio::task::block_in_place(|| registry.uploads.start(name))
        .map_err(|e| upload_error(e, None))?;
    let Some(raw_digest) = query_get(query, "digest") else {
        return Ok(session_response(StatusCode::ACCEPTED, name, &session, 0));
    };
    // Monolithic upload: the whole blob in this request.
    let result = monolithic(registry, name, &session, raw_digest, req).await;
    if result.is_err() {
        let _ = registry.uploads.cancel(&session.id);
    }
    result
}

async fn monolithic(
    registry: &Registry,
    name: &RepoName,
    session: &Session,
    raw_digest: &str,
    req: Request<Incoming>,
) -> Result<Resp, ApiError> {
    let digest = parse_digest(raw_digest)?;
    let declared = header(req.headers(), "content-length").and_then(|v| v.parse().ok());
    let mut cursor = session.lock().await;
    registry
        .uploads
        .append(session, &mut cursor, req.into_body(), None, declared)
        .await
        .map_err(|e| upload_error(e, None))?;
    tokio::task::block_in_place(|| {
        registry
            .uploads
            .finish(session, &mut cursor, &digest)
            .map_err(|e| upload_error(e, None))?;
        registry
            .storage
            .link_layer(name, &digest)
            .map_err(ApiError::from)
    })?;
    Ok(created(name, &digest))
}

pub async fn patch(
    registry: &Registry,
    name: &RepoName,
    raw_id: &str,
    req: Request<Incoming>,
) -> Result<Resp, ApiError> {
    let session = open_session(registry, name, raw_id)?;
    let range = content_range(&req)?;
    let mut cursor = session.lock().await;
    let current = session.offset()?;
    let (start, declared) = match range {
        Some((start, len)) => (Some(start), Some(len)),
        None => (None, None),
    };
    let offset = registry
        .uploads
        .append(&session, &mut cursor, req.into_body(), start, declared)
        .await
        .map_err(|e| upload_error(e, Some((name, &session, current))))?;
    Ok(session_response(
        StatusCode::ACCEPTED,
        name,
        &session,
        offset,
    ))
}

pub async fn put(
    registry: &Registry,
    name: &RepoName,
    raw_id: &str,
    query: &[(String, String)],
    req: Request<Incoming>,
) -> Result<Resp, ApiError> {
    let session = open_session(registry, name, raw_id)?;
    let digest = parse_digest(query_get(query, "digest").unwrap_or_default())?;
    let range = content_range(&req)?;
    let mut cursor = session.lock().await;
    let current = session.offset()?;
    let has_body = range.is_some()
        || header(req.headers(), "content-length").is_some_and(|v| v != "0")
        || header(req.headers(), "transfer-encoding").is_some();
    if has_body {
        let (start, declared) = match range {
            Some((start, len)) => (Some(start), Some(len)),
            None => (
                None,
                header(req.headers(), "content-length").and_then(|v| v.parse().ok()),
            ),
        };
        registry
            .uploads
            .append(&session, &mut cursor, req.into_body(), start, declared)
            .await
            .map_err(|e| upload_error(e, Some((name, &session, current))))?;
    }
    tokio::task::block_in_place(|| {
        registry
            .uploads
            .finish(&session, &mut cursor, &digest)
            .map_err(|e| upload_error(e, None))?;
        registry
            .storage
            .link_layer(name, &digest)
            .map_err(ApiError::from)
    })?;
    Ok(created(name, &digest))
}

pub fn status(registry: &Registry, name: &RepoName, raw_id: &str) -> Result<Resp, ApiError> {
    let session = open_session(registry, name, raw_id)?;
    let offset = session.offset()?;
    Ok(session_response(
        StatusCode::NO_CONTENT,
        name,
        &session,
        offset,
    ))
}

pub fn cancel(registry: &Registry, name: &RepoName, raw_id: &str) -> Result<Resp, ApiError> {
    let session = open_session(registry, name, raw_id)?;
    registry.uploads.cancel(&session.id)?;
    Ok(finish(response(StatusCode::NO_CONTENT), empty_body()))
}
