//! `GET /v2/` and the token endpoint.

use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderValue};

use crate::server::Registry;
use crate::server::auth::{AuthMode, Principal};
use crate::server::error::{ApiError, ErrorCode};
use crate::server::http::{Resp, json_response};

/// `/v2/` answers 200 to anyone allowed in; with auth on, anonymous callers get the challenge
/// (so clients learn to log in) unless anonymous pull is enabled.
pub fn base(registry: &Registry, who: &Principal, base_url: &str) -> Result<Resp, ApiError> {
    if matches!(who, Principal::Anonymous) && !registry.auth.anonymous_pull {
        return Err(registry_challenge(registry, base_url));
    }
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({}),
        "application/json",
    ))
}

fn registry_challenge(registry: &Registry, base_url: &str) -> ApiError {
    let value = match &registry.auth.mode {
        AuthMode::Token(s) => {
            let realm = s
                .realm
                .clone()
                .unwrap_or_else(|| format!("{base_url}/token"));
            format!("Bearer realm=\"{realm}\",service=\"{}\"", s.service)
        }
        _ => "Basic realm=\"berth-registry\"".to_owned(),
    };
    ApiError::new(ErrorCode::Unauthorized, "authentication required")
        .with_header("WWW-Authenticate", value)
}

/// `GET /token?service=...&scope=...`.
pub fn token(
    registry: &Registry,
    headers: &HeaderMap<HeaderValue>,
    query: &[(String, String)],
) -> Result<Resp, ApiError> {
    let scopes: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let body = registry.auth.issue_token(headers, &scopes)?;
    Ok(json_response(StatusCode::OK, &body, "application/json"))
}
