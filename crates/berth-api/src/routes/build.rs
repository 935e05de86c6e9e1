//! `POST /build` (the classic builder's API, which `docker build` uses with
//! `DOCKER_BUILDKIT=0` and `berth build` always): progress as `{"stream":…}` lines, the image
//! ID as `{"aux":{"ID":…}}`, errors as `{"errorDetail":…}` in the stream. `POST /build/prune`
//! is `docker builder prune`.

#[path = "build_auth.rs"]
mod auth;
#[path = "build_progress.rs"]
mod berth_progress;
#[path = "build_contexts.rs"]
mod contexts;
#[path = "build_prune.rs"]
mod prune;
#[path = "build_pull.rs"]
mod pull;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

use berth_engine::build::BuildRequest;

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, mut req: Req) -> http::Result<Resp> {
    if ctx.method != Method::POST {
        return Err(not_found(&ctx));
    }
    match ctx.segments.len() {
        1 => {}
        2 if ctx.segments[1] == "prune" => return prune::handle(ctx, req).await,
        _ => return Err(not_found(&ctx)),
    }
    let q = http::query(&req);
    let compression = layer_compression(&q)?.parse().unwrap_or_default();
    let build_args: BTreeMap<String, String> = json_map(&q, "buildargs")?
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let labels: BTreeMap<String, String> = json_map(&q, "labels")?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    let request = BuildRequest {
        dockerfile: q.get("dockerfile").cloned().unwrap_or_default(),
        tags: http::query_all(&req, "t"),
        build_args,
        target: q.get("target").filter(|t| !t.is_empty()).cloned(),
        no_cache: http::query_bool(&q, "nocache"),
        network_mode: q.get("networkmode").cloned(),
        labels,
        pull: http::query_bool(&q, "pull"),
        // Berth's own (the classic API has none): a JSON array of stage names or indexes.
        no_cache_filter: json_list(&q, "nocachefilter")?,
        compression,
        named_contexts: contexts::named_contexts_or_drain(&q, &mut req).await?,
    };
    let quiet = http::query_bool(&q, "q");
    let events = berth_progress::requested(&q) && !quiet;
    let auths = auth::RegistryAuths::from_header(
        req.headers()
            .get("X-Registry-Config")
            .and_then(|v| v.to_str().ok()),
    );
    let context = http::body_reader(req);
    let (tx, body) = http::channel_body();
    let engine = ctx.engine.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let progress = tx.clone();
        let sink: berth_engine::build::OutputSink = Arc::new(move |chunk: &[u8]| {
            if !quiet && !events {
                let _ = progress.send(line(&json!({"stream": String::from_utf8_lossy(chunk)})));
            }
        });
        let puller = Arc::new(pull::RegistryPuller {
            engine: engine.clone(),
            runtime,
            output: sink.clone(),
            auths,
        });
        let events = events.then(|| berth_progress::sink(tx.clone()));
        let puller = Some(puller as Arc<dyn berth_engine::build::BasePuller>);
        match berth_engine::build::build_with_progress(
            &engine, &request, context, sink, events, puller,
        ) {
            Ok(image) => {
                let id = image.id.to_string();
                let _ = tx.send(line(&json!({"aux": {"ID": id}})));
                if quiet {
                    // `docker build -q` prints only the ID.
                    let _ = tx.send(line(&json!({"stream": format!("{id}\n")})));
                    return;
                }
                let short = id.strip_prefix("sha256:").unwrap_or(&id);
                let short = &short[..short.len().min(12)];
                let mut done = format!("Successfully built {short}\n");
                // The tags this build asked for (the image may carry older ones too).
                for tag in &request.tags {
                    let shown = berth_oci::Reference::parse_normalized(tag)
                        .map(|r| r.familiar_string())
                        .unwrap_or_else(|_| tag.clone());
                    done.push_str(&format!("Successfully tagged {shown}\n"));
                }
                let _ = tx.send(line(&json!({"stream": done})));
            }
            Err(e) => {
                let message = e.to_string();
                let _ = tx.send(line(
                    &json!({"errorDetail": {"message": message}, "error": message}),
                ));
            }
        }
    });
    Ok(http::finish(
        hyper::Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        body,
    ))
}

/// `compression` (Berth's own; the classic API has none, so docker's CLI never sends it):
/// `gzip` (also when absent or empty) or `zstd`.
fn layer_compression(q: &std::collections::HashMap<String, String>) -> http::Result<&'static str> {
    match q.get("compression").map(String::as_str) {
        None | Some("") | Some("gzip") => Ok("gzip"),
        Some("zstd") => Ok("zstd"),
        Some(other) => Err(ApiError::bad_request(format!(
            "invalid compression {other:?}: want gzip or zstd"
        ))),
    }
}

/// A JSON object query parameter (`buildargs`, `labels`); absent or empty is empty.
fn json_map(
    q: &std::collections::HashMap<String, String>,
    name: &str,
) -> http::Result<BTreeMap<String, Option<String>>> {
    match q.get(name).map(String::as_str) {
        None | Some("") | Some("null") => Ok(BTreeMap::new()),
        Some(raw) => serde_json::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("invalid {name} {raw:?}: {e}"))),
    }
}

/// A JSON array-of-strings query parameter; absent or empty is empty.
fn json_list(
    q: &std::collections::HashMap<String, String>,
    name: &str,
) -> http::Result<Vec<String>> {
    match q.get(name).map(String::as_str) {
        None | Some("") | Some("null") => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("invalid {name} {raw:?}: {e}"))),
    }
}

fn line(value: &serde_json::Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_parameter() {
        let q = |v: &str| std::collections::HashMap::from([("compression".into(), v.into())]);
        assert_eq!(layer_compression(&Default::default()).unwrap(), "gzip");
        assert_eq!(layer_compression(&q("")).unwrap(), "gzip");
        assert_eq!(layer_compression(&q("gzip")).unwrap(), "gzip");
        assert_eq!(layer_compression(&q("zstd")).unwrap(), "zstd");
        let err = layer_compression(&q("xz")).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("\"xz\""), "{}", err.message);
    }
}
