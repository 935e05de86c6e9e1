//! Dispatch: strips the optional `/v1.NN` prefix, checks the version, and hands the request to
//! the routes module for its first path segment. Each module matches its own sub-paths.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::{Method, StatusCode};

use berth_engine::Engine;

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::routes;

/// What a handler gets besides the request.
pub struct Ctx {
    pub engine: Arc<Engine>,
    /// Path segments after the version prefix, percent-decoded.
    pub segments: Vec<String>,
    pub method: Method,
    /// The API version the client asked for (ours when unversioned).
    pub version: String,
}

pub async fn route(engine: Arc<Engine>, req: Req) -> Result<Resp, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = match split(&path) {
        Err(e) => http::error(&e),
        Ok((version, segments)) => {
            let ctx = Ctx {
                engine,
                segments,
                method: method.clone(),
                version,
            };
            match dispatch(ctx, req).await {
                Ok(resp) => resp,
                Err(e) => http::error(&e),
            }
        }
    };
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "request");
    let mut resp = resp;
    let headers = resp.headers_mut();
    headers.insert(
        "Api-Version",
        hyper::header::HeaderValue::from_static(crate::API_VERSION),
    );
    headers.insert("Server", hyper::header::HeaderValue::from_static("Berth"));
    Ok(resp)
}

async fn dispatch(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let first = ctx.segments.first().map(String::as_str).unwrap_or("");
    match first {
        "_ping" | "version" | "info" | "system" | "events" => {
            routes::system::handle(ctx, req).await
        }
        "containers" => routes::containers::handle(ctx, req).await,
        "exec" => routes::exec::handle(ctx, req).await,
        "build" => routes::build::handle(ctx, req).await,
        "networks" => routes::networks::handle(ctx, req).await,
        "volumes" => routes::volumes::handle(ctx, req).await,
        "images" | "auth" | "distribution" | "commit" => routes::images::handle(ctx, req).await,
        _ => {
            // Read what the client is sending first: answering while it still writes makes
            // it fail with a broken pipe instead of showing our 404.
            let _ = http::body_bytes(req, http::MAX_JSON_BODY).await;
            Err(not_found(&ctx))
        }
    }
}

pub fn not_found(ctx: &Ctx) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("page not found: {} /{}", ctx.method, ctx.segments.join("/")),
    )
}

/// `/v1.41/containers/json` → ("1.41", ["containers", "json"]).
fn split(path: &str) -> Result<(String, Vec<String>), ApiError> {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(http::percent_decode_path)
        .collect();
    let mut version = crate::API_VERSION.to_string();
    if let Some(v) = segments.first().and_then(|s| s.strip_prefix('v'))
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && v.contains('.')
    {
        if version_less(crate::API_VERSION, v) {
            return Err(ApiError::bad_request(format!(
                "client version {v} is too new. Maximum supported API version is {}",
                crate::API_VERSION
            )));
        }
        if version_less(v, crate::MIN_API_VERSION) {
            return Err(ApiError::bad_request(format!(
                "client version {v} is too old. Minimum supported API version is {}, please upgrade your client to a newer version",
                crate::MIN_API_VERSION
            )));
        }
        version = v.to_string();
        segments.remove(0);
    }
    Ok((version, segments))
}

/// Compares dotted versions numerically ("1.9" < "1.41").
pub fn version_less(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(a) < parse(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_versioned_and_unversioned_paths() {
        let (v, s) = split("/v1.41/containers/json").unwrap();
        assert_eq!(
            (v.as_str(), s),
            ("1.41", vec!["containers".to_string(), "json".to_string()])
        );
        let (v, s) = split("/containers/abc/start").unwrap();
        assert_eq!(v, crate::API_VERSION);
        assert_eq!(s, ["containers", "abc", "start"]);
        let (_, s) = split("/v1.40/images/localhost%3A5000%2Fx/json").unwrap();
        assert_eq!(s, ["images", "localhost:5000/x", "json"]);
    }

    #[test]
    fn refuses_versions_out_of_range() {
        assert!(
            split("/v1.99/_ping")
                .unwrap_err()
                .message
                .contains("too new")
        );
        assert!(
            split("/v1.2/_ping")
                .unwrap_err()
                .message
                .contains("too old")
        );
        assert!(version_less("1.9", "1.41"));
        assert!(!version_less("1.41", "1.41"));
    }
}
