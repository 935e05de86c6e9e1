//! `buildcontexts` (Berth's own `POST /build` parameter; the classic API has none): a JSON
//! object of `--build-context` NAME → VALUE, each value `docker-image://REF` or
//! `context:<dir>` (a directory the client sent in the context tar under `.berth-contexts/`).
//! Every entry is checked here, so a bad one is a 400 before the context is read.

use std::collections::{BTreeMap, HashMap};

use berth_engine::build::named_context::{WireContext, parse_wire};
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::http::{self, Req};

/// The request's named contexts; a bad entry is refused only after the context upload is
/// read (and dropped): `berth build` streams it, and a connection closed under it would kill
/// the CLI with SIGPIPE before it could read the 400.
pub async fn named_contexts_or_drain(
    q: &HashMap<String, String>,
    req: &mut Req,
) -> http::Result<BTreeMap<String, WireContext>> {
    let error = match named_contexts(q) {
        Ok(contexts) => return Ok(contexts),
        Err(error) => error,
    };
    while let Some(frame) = req.body_mut().frame().await {
        if frame.is_err() {
            break;
        }
    }
    Err(error)
}

pub fn named_contexts(q: &HashMap<String, String>) -> http::Result<BTreeMap<String, WireContext>> {
    let raw = match q.get("buildcontexts").map(String::as_str) {
        None | Some("") | Some("null") => return Ok(BTreeMap::new()),
        Some(raw) => raw,
    };
    let entries: BTreeMap<String, String> = serde_json::from_str(raw).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid buildcontexts {raw:?}: want a JSON object of name to string: {e}"
        ))
    })?;
    let mut contexts = BTreeMap::new();
    for (name, value) in entries {
        let (key, context) =
            parse_wire(&name, &value).map_err(|e| ApiError::bad_request(e.to_string()))?;
        contexts.insert(key, context);
    }
    Ok(contexts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    fn query(value: &str) -> HashMap<String, String> {
        HashMap::from([("buildcontexts".to_string(), value.to_string())])
    }

    #[test]
    fn contexts_are_parsed_and_bad_ones_are_400() {
        assert!(named_contexts(&HashMap::new()).unwrap().is_empty());
        let parsed = named_contexts(&query(
            r#"{"src":"context:0-src","docker.io/library/busybox:latest":"docker-image://fixtures/busybox:1.35"}"#,
        ))
        .unwrap();
        assert_eq!(parsed["src"], WireContext::Bundled("0-src".into()));
        assert_eq!(
            parsed["busybox"],
            WireContext::Image("fixtures/busybox:1.35".into())
        );
        for (bad, needle) in [
            ("{not json", "invalid buildcontexts"),
            (r#"["a"]"#, "invalid buildcontexts"),
            (r#"{"src":"context:../etc"}"#, "src=context:../etc"),
            (r#"{"src":"context:a/b"}"#, "src=context:a/b"),
            (r#"{"":"docker-image://busybox"}"#, "context name is empty"),
            (r#"{"x":"docker-image://UPPER"}"#, "x=docker-image://UPPER"),
            (
                r#"{"x":"https://example.com/x.git"}"#,
                "git contexts are not supported",
            ),
        ] {
            let err = named_contexts(&query(bad)).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(err.message.contains(needle), "{bad}: {}", err.message);
        }
    }
}
