//! `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`.

use berth_oci::Digest;
use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};

use crate::server::Registry;
use crate::server::error::{ApiError, ErrorCode};
use crate::server::http::{DIGEST_HEADER, Resp, empty_body, finish, full, header, response};
use crate::server::manifest::{Descriptor, Manifest};
use crate::server::names::{Reference, RepoName, Tag};

fn parse_reference(raw: &str, invalid: ErrorCode) -> Result<Reference, ApiError> {
    if raw.contains(':') {
        return super::parse_digest(raw).map(Reference::Digest);
    }
    Tag::parse(raw)
        .map(Reference::Tag)
        .map_err(|e| ApiError::new(invalid, e.to_string()))
}

fn manifest_unknown(name: &RepoName, reference: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ManifestUnknown,
        serde_json::json!({"name": name.as_str(), "reference": reference}),
    )
}

/// Resolves a reference to a digest and the media type it was stored with.
fn resolve(
    registry: &Registry,
    name: &RepoName,
    reference: &Reference,
) -> Result<(Digest, String), ApiError> {
    if !registry.storage.repo_exists(name) {
        return Err(ApiError::new(
            ErrorCode::NameUnknown,
            serde_json::json!({"name": name.as_str()}),
        ));
    }
    let digest = match reference {
        Reference::Digest(d) => d.clone(),
        Reference::Tag(t) => registry
            .storage
            .resolve_tag(name, t)?
            .ok_or_else(|| manifest_unknown(name, t.as_str()))?,
    };
    let media_type = registry
        .storage
        .revision(name, &digest)?
        .ok_or_else(|| manifest_unknown(name, &digest.to_string()))?;
    Ok((digest, media_type))
}

/// Whether the client's `Accept` headers allow `media_type`. No Accept header means anything.
fn accepts(headers: &HeaderMap<HeaderValue>, media_type: &str) -> bool {
    let mut any_header = false;
    for value in headers
        .get_all("accept")
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        any_header = true;
        for item in value.split(',') {
            let mt = item.split(';').next().unwrap_or("").trim();
            if mt == media_type || mt == "*/*" || mt == "application/*" {
                return true;
            }
        }
    }
    !any_header
}

pub fn get(
    registry: &Registry,
    name: &RepoName,
    raw: &str,
    headers: &HeaderMap<HeaderValue>,
    head: bool,
) -> Result<Resp, ApiError> {
    let reference = parse_reference(raw, ErrorCode::ManifestUnknown)?;
    let (digest, media_type) = resolve(registry, name, &reference)?;
    if !accepts(headers, &media_type) {
        return Err(ApiError::new(
            ErrorCode::ManifestUnknown,
            format!("manifest {digest} is {media_type}, which the Accept header does not allow"),
        ));
    }
    let body = registry
        .storage
        .read_blob(&digest)?
        .ok_or_else(|| manifest_unknown(name, raw))?;
    let builder = response(StatusCode::OK)
        .header("Content-Type", media_type)
        .header("Content-Length", body.len())
        .header(DIGEST_HEADER, digest.to_string())
        .header("ETag", format!("\"{digest}\""));
    Ok(finish(
        builder,
        if head { empty_body() } else { full(body) },
    ))
}

/// Reads at most `limit` bytes of body; 413 beyond.
async fn read_limited(
    req: Request<Incoming>,
    limit: u64,
) -> Result<(Option<String>, Vec<u8>), ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("manifests are limited to {limit} bytes"),
        )
    };
    // Bodies up to 4x the limit are drained so the client can read the 413; beyond that the
    // connection is dropped rather than spending bandwidth on a hostile upload.
    let drain_limit = limit.saturating_mul(4);
    let declared = header(req.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_limit) {
        return Err(too_large());
    }
    let content_type = header(req.headers(), "content-type").map(str::to_owned);
    let mut body = req.into_body();
    let mut buf = BytesMut::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::new(ErrorCode::ManifestInvalid, format!("reading body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > drain_limit {
                return Err(too_large());
            }
            if seen <= limit {
                buf.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok((content_type, buf.to_vec()))
}

fn blob_unknown(d: &Descriptor) -> ApiError {
    ApiError::new(
        ErrorCode::ManifestBlobUnknown,
        serde_json::json!({"digest": d.digest.to_string()}),
    )
}

/// Every referenced blob must be in this repository with the declared size; every child
/// manifest must be stored here. Referenced blobs are touched so a concurrent gc spares them.
fn check_references(
    registry: &Registry,
    name: &RepoName,
    manifest: &Manifest,
) -> Result<(), ApiError> {
    let storage = &registry.storage;
    for blob in &manifest.blobs {
        if !storage.layer_linked(name, &blob.digest) {
            return Err(blob_unknown(blob));
        }
        match storage.blob_size(&blob.digest)? {
            Some(size) if size == blob.size => {}
            Some(size) => {
                return Err(ApiError::new(
                    ErrorCode::ManifestInvalid,
                    format!(
                        "descriptor {} declares size {} but the blob has {size}",
                        blob.digest, blob.size
                    ),
                ));
            }
            None => return Err(blob_unknown(blob)),
        }
        if !storage.touch_blob(&blob.digest)? {
            return Err(blob_unknown(blob));
        }
    }
    for child in &manifest.children {
        if storage.revision(name, &child.digest)?.is_none() || !storage.touch_blob(&child.digest)? {
            return Err(blob_unknown(child));
        }
    }
    Ok(())
}

pub async fn put(
    registry: &Registry,
    name: &RepoName,
    raw: &str,
    req: Request<Incoming>,
) -> Result<Resp, ApiError> {
    let reference = parse_reference(raw, ErrorCode::ManifestInvalid)?;
    let (content_type, body) = read_limited(req, registry.max_manifest_bytes).await?;
    let manifest = Manifest::parse(&body, content_type.as_deref())
        .map_err(|e| ApiError::new(ErrorCode::ManifestInvalid, e.to_string()))?;
    let digest = Digest::sha256_of(&body);
    if let Reference::Digest(expected) = &reference
        && expected != &digest
    {
        return Err(ApiError::new(
            ErrorCode::DigestInvalid,
            serde_json::json!({"expected": expected.to_string(), "actual": digest.to_string()}),
        ));
    }
    tokio::task::block_in_place(|| -> Result<(), ApiError> {
        // Held from touching the references until the manifest is linked: see storage::lock.
        let _lock = registry.storage.reference_lock()?;
        check_references(registry, name, &manifest)?;
        registry.storage.put_blob_bytes(&digest, &body)?;
        registry
            .storage
            .put_revision(name, &digest, manifest.kind.media_type())?;
        if let Reference::Tag(tag) = &reference {
            registry.storage.set_tag(name, tag, &digest)?;
        }
        Ok(())
    })?;
    let mut builder = response(StatusCode::CREATED)
        .header("Location", format!("/v2/{name}/manifests/{digest}"))
        .header(DIGEST_HEADER, digest.to_string())
        .header("Content-Length", 0);
    if let Some(subject) = &manifest.subject {
        builder = builder.header("OCI-Subject", subject.digest.to_string());
    }
    Ok(finish(builder, empty_body()))
}

/// By digest: removes the manifest and its tags. By tag: removes only the tag.
pub fn delete(registry: &Registry, name: &RepoName, raw: &str) -> Result<Resp, ApiError> {
    let reference = parse_reference(raw, ErrorCode::ManifestUnknown)?;
    if !registry.delete_enabled {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            "deletion is disabled on this registry",
        ));
    }
    let existed = tokio::task::block_in_place(|| match &reference {
        Reference::Tag(tag) => registry.storage.delete_tag(name, tag),
        Reference::Digest(d) => registry.storage.delete_revision(name, d),
    })?;
    if !existed {
        return Err(manifest_unknown(name, raw));
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
    fn accept_negotiation() {
        let mut h = HeaderMap::new();
        assert!(accepts(&h, "application/vnd.oci.image.manifest.v1+json"));
        h.append(
            "accept",
            HeaderValue::from_static("application/vnd.docker.distribution.manifest.v2+json"),
        );
        assert!(!accepts(&h, "application/vnd.oci.image.manifest.v1+json"));
        h.append(
            "accept",
            HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json;q=0.5, text/x"),
        );
        assert!(accepts(&h, "application/vnd.oci.image.manifest.v1+json"));
    }
}
