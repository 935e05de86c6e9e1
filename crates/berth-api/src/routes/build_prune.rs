//! `POST /build/prune?all=1&filters={"until":{"24h":true}}`: Docker's
//! `BuildCachePruneResponse` (`CachesDeleted`, `SpaceReclaimed`).

use std::time::Duration;

use hyper::StatusCode;
use serde_json::json;

use berth_engine::build::PruneOptions;

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let q = http::query(&req);
    let options = PruneOptions {
        all: http::query_bool(&q, "all"),
        older_than: until(q.get("filters").map(String::as_str).unwrap_or(""))?,
    };
    let engine = ctx.engine.clone();
    let report = tokio::task::spawn_blocking(move || berth_engine::build::prune(&engine, &options))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("build cache prune task failed: {e}"),
            )
        })?
        .map_err(ApiError::from_engine)?;
    Ok(http::json(
        StatusCode::OK,
        &json!({"CachesDeleted": report.deleted, "SpaceReclaimed": report.space_reclaimed}),
    ))
}

/// The `until` filter (a Go duration such as `24h` or `1h30m`); other filters are refused
/// rather than ignored.
fn until(filters: &str) -> http::Result<Option<Duration>> {
    if filters.is_empty() {
        return Ok(None);
    }
    let parsed: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_str(filters)
            .map_err(|e| ApiError::bad_request(format!("invalid filters {filters:?}: {e}")))?;
    let mut found = None;
    for (name, values) in parsed {
        if name != "until" {
            return Err(ApiError::bad_request(format!(
                "invalid filter {name:?}: only \"until\" is supported"
            )));
        }
        // `{"until":{"24h":true}}` (map form) or `{"until":["24h"]}` (list form).
        let texts: Vec<String> = match values {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        for text in texts {
            found = Some(go_duration(&text).ok_or_else(|| {
                ApiError::bad_request(format!("invalid until filter {text:?}: not a duration"))
            })?);
        }
    }
    Ok(found)
}

/// Go's `time.ParseDuration` for the units a prune filter uses: `h`, `m`, `s`, `ms`.
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        rest = &rest[unit..];
        total += value * scale;
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_filters_parse_like_docker() {
        assert_eq!(go_duration("24h"), Some(Duration::from_secs(86400)));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(go_duration("10"), None);
        assert_eq!(go_duration("5d"), None);
        assert_eq!(
            until(r#"{"until":{"2h":true}}"#).unwrap(),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(until("").unwrap(), None);
        assert!(until(r#"{"type":{"regular":true}}"#).is_err());
    }
}
