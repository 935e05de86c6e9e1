//! `GET /events?since=&until=&filters=`: past events still kept (from `since`), then live ones,
//! one JSON object per line, until `until` passes or the client goes away.

use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;

use berth_engine::events::Event;

use crate::error::ApiError;
use crate::filters::Filters;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

pub async fn stream(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let q = http::query(&req);
    let since = q.get("since").map(|s| parse_time("since", s)).transpose()?;
    let until = q.get("until").map(|s| parse_time("until", s)).transpose()?;
    let filters = Filters::parse(q.get("filters").map(String::as_str))?;
    filters.only(&[
        "type",
        "event",
        "container",
        "image",
        "label",
        "network",
        "volume",
        "daemon",
        "scope",
    ])?;
    // The bus calls the subscriber synchronously; it only queues. A task forwards the queue to
    // the client and ends the stream at `until`; when it stops, the queue's receiver is dropped
    // and the subscriber unsubscribes itself on the next event.
    let (queue_tx, mut queue) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let keep = filters.clone();
    let replay = ctx.engine.events.subscribe(
        since,
        Box::new(move |event| !wanted(&keep, event) || queue_tx.send(event.clone()).is_ok()),
    );
    let (tx, body) = http::channel_body();
    tokio::spawn(async move {
        let past_until = |e: &Event| until.is_some_and(|u| e.time_nano > u);
        for event in replay.iter().filter(|e| wanted(&filters, e)) {
            if past_until(event) || tx.send(encode(event)).is_err() {
                return;
            }
        }
        let deadline = until.map(|u| {
            let wait = u64::try_from(u - now_nanos()).unwrap_or(0);
            tokio::time::Instant::now() + Duration::from_nanos(wait)
        });
        loop {
            let next = match deadline {
                Some(at) => tokio::select! {
                    e = queue.recv() => e,
                    _ = tokio::time::sleep_until(at) => None,
                    _ = tx.closed() => None,
                },
                None => tokio::select! {
                    e = queue.recv() => e,
                    _ = tx.closed() => None,
                },
            };
            match next {
                Some(event) if !past_until(&event) && tx.send(encode(&event)).is_ok() => {}
                _ => return,
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

fn encode(event: &Event) -> Bytes {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Docker's `events.Filter.Include`: `container`, `volume` and `network` match any event
/// whose actor ID or `name` starts with a value (so `container=web` drops volume and network
/// events, as Docker does); `image` matches the ID or the image's name, with or without tag.
fn wanted(f: &Filters, e: &Event) -> bool {
    let attr = |k: &str| e.actor.attributes.get(k).map(String::as_str);
    let named = |key: &str| {
        f.matches(key, |v| {
            e.actor.id.starts_with(v) || attr("name").is_some_and(|n| n.starts_with(v))
        })
    };
    let image_name = if e.kind == "image" {
        attr("name")
    } else {
        attr("image")
    };
    f.matches("type", |v| v == e.kind)
        && f.matches("event", |v| {
            v == e.action || e.action.starts_with(&format!("{v}:"))
        })
        && f.matches("scope", |v| v == e.scope)
        && named("container")
        && named("volume")
        && named("network")
        && f.matches("image", |v| {
            [Some(e.actor.id.as_str()), image_name]
                .into_iter()
                .flatten()
                .any(|name| name == v || strip_tag(name) == v)
        })
        && f.values("label").iter().all(|l| match l.split_once('=') {
            Some((k, v)) => attr(k) == Some(v),
            None => attr(l).is_some(),
        })
}

/// `repo:tag` → `repo` (a port's colon, before the last `/`, stays).
fn strip_tag(name: &str) -> &str {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => name,
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Docker's `since`/`until`: unix seconds with an optional fraction (`1700000000.123456789`).
fn parse_time(name: &str, raw: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid {name} value {raw:?}: expected unix seconds"
        ))
    };
    let (secs, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    secs.checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(nanos))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn parses_docker_timestamps() {
        assert_eq!(parse_time("since", "12").unwrap(), 12_000_000_000);
        assert_eq!(parse_time("since", "1.5").unwrap(), 1_500_000_000);
        assert!(parse_time("since", "x").is_err());
        assert!(parse_time("since", "1.1234567890").is_err());
    }

    #[test]
    fn filters_by_type_event_container_and_label() {
        let attrs = BTreeMap::from([
            ("name".to_string(), "web".to_string()),
            ("image".to_string(), "busybox".to_string()),
            ("tier".to_string(), "front".to_string()),
        ]);
        let e = Event::new("container", "start", "abcdef", attrs);
        let f = |raw: &str| Filters::parse(Some(raw)).unwrap();
        assert!(wanted(
            &f(r#"{"type":["container"],"event":["start"]}"#),
            &e
        ));
        assert!(!wanted(&f(r#"{"event":["die"]}"#), &e));
        assert!(wanted(&f(r#"{"container":["web"]}"#), &e));
        assert!(wanted(&f(r#"{"container":["abc"]}"#), &e));
        assert!(!wanted(&f(r#"{"container":["db"]}"#), &e));
        assert!(wanted(
            &f(r#"{"image":["busybox"],"label":["tier=front"]}"#),
            &e
        ));
        assert!(!wanted(&f(r#"{"label":["tier=back"]}"#), &e));
        let img = Event::new("image", "pull", "busybox:latest", BTreeMap::new());
        assert!(!wanted(&f(r#"{"container":["web"]}"#), &img));
        // Volume and network events that name a container are not that container's.
        let mount = Event::new(
            "volume",
            "mount",
            "data",
            BTreeMap::from([("container".to_string(), "abcdef".to_string())]),
        );
        assert!(!wanted(&f(r#"{"container":["abc"]}"#), &mount));
        assert!(wanted(&f(r#"{"volume":["data"]}"#), &mount));
        assert!(!wanted(&f(r#"{"volume":["data"]}"#), &e));
        assert!(wanted(&f(r#"{"image":["busybox"]}"#), &img));
        assert!(wanted(&f(r#"{"image":["busybox:latest"]}"#), &img));
        assert_eq!(strip_tag("localhost:5000/a/b:1"), "localhost:5000/a/b");
        assert_eq!(strip_tag("localhost:5000/a"), "localhost:5000/a");
    }
}
