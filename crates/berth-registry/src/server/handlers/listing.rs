//! Content discovery: tags list, catalog, and the referrers API.

use hyper::StatusCode;

use super::parse_digest;
use crate::server::Registry;
use crate::server::error::{ApiError, ErrorCode};
use crate::server::http::{Resp, finish, full, json_response, percent_encode, query_get, response};
use crate::server::manifest::{Descriptor, Manifest};
use crate::server::names::RepoName;

/// One page of a sorted listing, and the `(n, last)` to continue from.
struct Page {
    items: Vec<String>,
    next: Option<(usize, String)>,
}

/// Applies `n`/`last` to a sorted list.
fn paginate(items: Vec<String>, query: &[(String, String)]) -> Result<Page, ApiError> {
    let last = query_get(query, "last");
    let n = match query_get(query, "n") {
        None | Some("") => None,
        // The spec has no code for a malformed `n`; answer 400 as distribution does.
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            ApiError::new(
                ErrorCode::SizeInvalid,
                format!("pagination parameter n={v:?} is not a number"),
            )
        })?),
    };
    let mut items: Vec<String> = items
        .into_iter()
        .filter(|i| last.is_none_or(|l| i.as_str() > l))
        .collect();
    let Some(n) = n else {
        return Ok(Page { items, next: None });
    };
    let more = items.len() > n;
    items.truncate(n);
    let next = match (more, items.last()) {
        (true, Some(l)) => Some((n, l.clone())),
        _ => None,
    };
    Ok(Page { items, next })
}

fn page_response(key: &str, name: Option<&RepoName>, page: Page, path: &str) -> Resp {
    let mut body = serde_json::json!({ key: page.items });
    if let Some(name) = name {
        body["name"] = serde_json::json!(name.as_str());
    }
    let bytes = body.to_string().into_bytes();
    let mut builder = response(StatusCode::OK)
        .header("Content-Type", "application/json")
        .header("Content-Length", bytes.len());
    if let Some((n, last)) = page.next {
        builder = builder.header(
            "Link",
            format!(
                "<{path}?n={n}&last={}>; rel=\"next\"",
                percent_encode(&last)
            ),
        );
    }
    finish(builder, full(bytes))
}

pub fn tags(
    registry: &Registry,
    name: &RepoName,
    query: &[(String, String)],
) -> Result<Resp, ApiError> {
    if !registry.storage.repo_exists(name) {
        return Err(ApiError::new(
            ErrorCode::NameUnknown,
            serde_json::json!({"name": name.as_str()}),
        ));
    }
    let mut tags = registry.storage.tags(name)?;
    tags.sort();
    let page = paginate(tags, query)?;
    Ok(page_response(
        "tags",
        Some(name),
        page,
        &format!("/v2/{name}/tags/list"),
    ))
}

pub fn catalog(registry: &Registry, query: &[(String, String)]) -> Result<Resp, ApiError> {
    let repos = tokio::task::block_in_place(|| registry.storage.repositories())?;
    let page = paginate(repos, query)?;
    Ok(page_response("repositories", None, page, "/v2/_catalog"))
}

/// Manifests in `name` whose `subject` is `digest`, as an OCI index, optionally filtered by
/// `artifactType`.
pub fn referrers(
    registry: &Registry,
    name: &RepoName,
    raw: &str,
    query: &[(String, String)],
) -> Result<Resp, ApiError> {
    let subject = parse_digest(raw)?;
    let filter = query_get(query, "artifactType").filter(|a| !a.is_empty());
    let storage = &registry.storage;
    let mut found: Vec<Descriptor> = Vec::new();
    tokio::task::block_in_place(|| -> Result<(), ApiError> {
        for digest in storage.revisions(name)? {
            let Some(media_type) = storage.revision(name, &digest)? else {
                continue;
            };
            let Some(body) = storage.read_blob(&digest)? else {
                continue;
            };
            let Ok(manifest) = Manifest::parse(&body, Some(&media_type)) else {
                continue;
            };
            if manifest
                .subject
                .as_ref()
                .is_none_or(|s| s.digest != subject)
            {
                continue;
            }
            if filter.is_some_and(|f| manifest.artifact_type.as_deref() != Some(f)) {
                continue;
            }
            found.push(Descriptor {
                media_type,
                digest,
                size: body.len() as u64,
                urls: None,
                artifact_type: manifest.artifact_type,
                annotations: manifest.annotations,
            });
        }
        Ok(())
    })?;
    found.sort_by(|a, b| a.digest.cmp(&b.digest));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_oci::media_type::OCI_INDEX,
        "manifests": found,
    });
    let mut resp = json_response(StatusCode::OK, &index, berth_oci::media_type::OCI_INDEX);
    if filter.is_some() {
        resp.headers_mut().insert(
            "OCI-Filters-Applied",
            hyper::header::HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}
