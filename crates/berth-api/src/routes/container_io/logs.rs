//! `GET /containers/{id}/logs`: the json-file log, multiplexed (or raw for a tty container),
//! streamed as it is read; with `follow`, until the container stops or the client leaves.

use hyper::{Response, StatusCode};

use berth_engine::io::logs::{self, Flow, LogOptions, Stream};

use super::stream::{StreamType, bounded_body, frame};
use super::{blocking, container};
use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

pub async fn logs(ctx: &Ctx, id: &str, req: Req) -> http::Result<Resp> {
    let c = container(ctx, id)?;
    let q = http::query(&req);
    let time_arg = |key: &str| -> http::Result<Option<i64>> {
        match q.get(key).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(text) => logs::parse_timestamp_arg(text).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!("invalid value for \"{key}\": {text:?}"))
            }),
        }
    };
    let opts = LogOptions {
        stdout: http::query_bool(&q, "stdout"),
        stderr: http::query_bool(&q, "stderr"),
        since: time_arg("since")?.filter(|s| *s > 0),
        until: time_arg("until")?.filter(|u| *u > 0),
        tail: q.get("tail").and_then(|t| t.parse::<usize>().ok()),
        follow: http::query_bool(&q, "follow"),
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let timestamps = http::query_bool(&q, "timestamps");
    let record = c.snapshot();
    let tty = record.config.tty.unwrap_or(false);
    let path = ctx.engine.paths.log(&record.id);
    let (tx, body) = bounded_body();
    let watcher = tx.clone();
    let producer = move || {
        let running = move || !watcher.is_closed() && c.snapshot().state.status.is_live();
        let mut sink = |entry: logs::LogEntry| {
            let mut line = Vec::with_capacity(entry.line.len() + 32);
            if timestamps {
                line.extend_from_slice(logs::format_time_fixed(entry.nanos).as_bytes());
                line.push(b' ');
            }
            line.extend_from_slice(&entry.line);
            let chunk = if tty {
                bytes::Bytes::from(line)
            } else {
                let stream = match entry.stream {
                    Stream::Stdout => StreamType::Stdout,
                    Stream::Stderr => StreamType::Stderr,
                };
                frame(stream, &line)
            };
            match tx.blocking_send(chunk) {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Stop,
            }
        };
        if let Err(e) = logs::read_logs(&path, &opts, &running, &mut sink) {
            tracing::warn!(error = %e, "reading container logs");
        }
        Ok(())
    };
    tokio::spawn(blocking(producer));
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/vnd.docker.raw-stream"),
        body,
    ))
}
