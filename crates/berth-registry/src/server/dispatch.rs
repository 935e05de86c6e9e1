//! One request: route, authorize, run the handler, map errors, log.

use std::net::SocketAddr;
use std::time::Instant;

use hyper::body::{Body as _, Incoming};
use hyper::{Method, Request};

use super::Registry;
use hyper::header::{HeaderMap, HeaderValue};

use super::auth::{Need, Principal};
use super::error::{ApiError, ErrorCode};
use super::handlers;
use super::http::{Resp, error_response, header, query_pairs};
use super::names::RepoName;
use super::routes::Route;

pub async fn handle(registry: &Registry, req: Request<Incoming>, peer: SocketAddr) -> Resp {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let received = header(req.headers(), "content-length")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let head = method == Method::HEAD;
    let resp = match route(registry, req).await {
        Ok(resp) => resp,
        Err(err) => error_response(&err, head),
    };
    let sent = resp.body().size_hint().exact().unwrap_or(0);
    tracing::info!(
        %peer,
        %method,
        path,
        status = resp.status().as_u16(),
        bytes_in = received,
        bytes_out = sent,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    resp
}

fn parse_name(raw: &str) -> Result<RepoName, ApiError> {
    RepoName::parse(raw).map_err(|e| ApiError::new(ErrorCode::NameInvalid, e.to_string()))
}

/// The scheme://host clients reach us by, for token realms.
pub fn base_url(registry: &Registry, headers: &HeaderMap<HeaderValue>) -> String {
    let scheme = if registry.tls { "https" } else { "http" };
    let host = header(headers, "host").unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// Validates the route's repository name and checks the caller may do what the request needs.
pub fn authorize(
    registry: &Registry,
    route: &Route<'_>,
    method: &Method,
    headers: &HeaderMap<HeaderValue>,
    base: &str,
) -> Result<(Principal, Option<RepoName>), ApiError> {
    let name = route.name().map(parse_name).transpose()?;
    let repo = name.as_ref().map(|n| n.as_str()).unwrap_or_default();
    let needs: Vec<Need> = match (route, method) {
        (Route::Token | Route::Base, _) => Vec::new(),
        (Route::Catalog, _) => vec![Need {
            kind: "registry",
            name: "catalog".to_owned(),
            action: "*",
        }],
        (_, &Method::GET | &Method::HEAD) if !matches!(route, Route::Upload { .. }) => {
            vec![Need::repo(repo, "pull")]
        }
        (Route::Manifest { .. } | Route::Blob { .. }, &Method::DELETE) => {
            vec![Need::repo(repo, "delete")]
        }
        _ => vec![Need::repo(repo, "pull"), Need::repo(repo, "push")],
    };
    let who = registry.auth.check(headers, base, &needs)?;
    Ok((who, name))
}

fn unsupported(method: &Method) -> ApiError {
    ApiError::new(
        ErrorCode::Unsupported,
        format!("method {method} is not supported here"),
    )
}

async fn route(registry: &Registry, req: Request<Incoming>) -> Result<Resp, ApiError> {
    let path = req.uri().path().to_owned();
    let query = query_pairs(req.uri().query());
    let Some(route) = Route::parse(&path) else {
        return Err(ApiError::new(
            ErrorCode::NameUnknown,
            format!("no endpoint at {path}"),
        ));
    };
    let method = req.method().clone();
    let base = base_url(registry, req.headers());
    if route == Route::Token {
        return handlers::base::token(registry, req.headers(), &query);
    }
    let (who, name) = authorize(registry, &route, &method, req.headers(), &base)?;
    if route == Route::Base {
        return handlers::base::base(registry, &who, &base);
    }
    if route == Route::Catalog {
        return match method {
            Method::GET => handlers::listing::catalog(registry, &query),
            m => Err(unsupported(&m)),
        };
    }
    let Some(name) = name else {
        return Err(unsupported(&method));
    };
    match (route, method) {
        (Route::Tags { .. }, Method::GET) => handlers::listing::tags(registry, &name, &query),
        (Route::Referrers { digest, .. }, Method::GET) => {
            handlers::listing::referrers(registry, &name, digest, &query)
        }
        (Route::Manifest { reference, .. }, m @ (Method::GET | Method::HEAD)) => {
            handlers::manifests::get(registry, &name, reference, req.headers(), m == Method::HEAD)
        }
        (Route::Manifest { reference, .. }, Method::PUT) => {
            handlers::manifests::put(registry, &name, reference, req).await
        }
        (Route::Manifest { reference, .. }, Method::DELETE) => {
            handlers::manifests::delete(registry, &name, reference)
        }
        (Route::Blob { digest, .. }, m @ (Method::GET | Method::HEAD)) => {
            handlers::blobs::get(registry, &name, digest, req.headers(), m == Method::HEAD)
        }
        (Route::Blob { digest, .. }, Method::DELETE) => {
            handlers::blobs::delete(registry, &name, digest)
        }
        (Route::UploadStart { .. }, Method::POST) => {
            handlers::uploads::start(registry, &name, &who, &query, req).await
        }
        (Route::Upload { id, .. }, Method::PATCH) => {
            handlers::uploads::patch(registry, &name, id, req).await
        }
        (Route::Upload { id, .. }, Method::PUT) => {
            handlers::uploads::put(registry, &name, id, &query, req).await
        }
        (Route::Upload { id, .. }, Method::GET) => handlers::uploads::status(registry, &name, id),
        (Route::Upload { id, .. }, Method::DELETE) => {
            handlers::uploads::cancel(registry, &name, id)
        }
        (_, m) => Err(unsupported(&m)),
    }
}
