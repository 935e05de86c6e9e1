//! `top`, `stats` and `changes`.

use std::time::Duration;

use hyper::{Response, StatusCode};

use berth_engine::containers::Status;
use berth_engine::io::{changes, stats, top as ps};

use super::stream::bounded_body;
use super::{blocking, container};
use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

/// Docker samples stats once a second.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

fn not_running(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("Container {id} is not running"),
    )
}

/// `GET /containers/{id}/top?ps_args=`.
pub async fn top(ctx: &Ctx, id: &str, req: &Req) -> http::Result<Resp> {
    let c = container(ctx, id)?;
    let record = c.snapshot();
    if !record.state.status.is_live() {
        return Err(not_running(&record.id));
    }
    let q = http::query(req);
    let ps_args = q
        .get("ps_args")
        .filter(|a| !a.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| "-ef".to_string());
    let engine = ctx.engine.clone();
    let result = blocking(move || {
        let path = berth_engine::io::cgroups_path(&engine, &record.id);
        ps::top(&path, &ps_args).map_err(ApiError::from_engine)
    })
    .await?;
    Ok(http::json(StatusCode::OK, &result))
}

/// `GET /containers/{id}/changes`.
pub async fn changes(ctx: &Ctx, id: &str) -> http::Result<Resp> {
    let c = container(ctx, id)?;
    let engine = ctx.engine.clone();
    let id = c.id.clone();
    let list = blocking(move || {
        let (upper, lowers) =
            changes::overlay_dirs(&engine.store, &id).map_err(ApiError::from_engine)?;
        changes::changes(&upper, &lowers).map_err(ApiError::from_engine)
    })
    .await?;
    Ok(http::json(StatusCode::OK, &list))
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: one JSON document per second while
/// streaming; otherwise one, whose `precpu_stats` comes from a sample a second earlier (as
/// Docker's) unless `one-shot`.
pub async fn stats(ctx: &Ctx, id: &str, req: &Req) -> http::Result<Resp> {
    let c = container(ctx, id)?;
    let q = http::query(req);
    let stream = q
        .get("stream")
        .is_none_or(|_| http::query_bool(&q, "stream"));
    let one_shot = http::query_bool(&q, "one-shot");
    let record = c.snapshot();
    let live = record.state.status == Status::Running || record.state.status == Status::Paused;
    if !live {
        // Docker answers a stopped container with an empty document.
        let empty = serde_json::json!({
            "name": format!("/{}", record.name), "id": record.id,
            "read": "0001-01-01T00:00:00Z", "preread": "0001-01-01T00:00:00Z",
            "pids_stats": {}, "blkio_stats": {}, "num_procs": 0, "storage_stats": {},
            "cpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0}, "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
            "precpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0}, "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
            "memory_stats": {},
        });
        return Ok(http::json(StatusCode::OK, &empty));
    }
    let engine = ctx.engine.clone();
    let path = {
        let engine = engine.clone();
        let id = record.id.clone();
        blocking(move || Ok(berth_engine::io::cgroups_path(&engine, &id))).await?
    };
    let (pid, name, id) = (record.state.pid, record.name.clone(), record.id.clone());
    if !stream {
        let doc = blocking(move || {
            let first = stats::sample(&path, pid).map_err(ApiError::from_engine)?;
            if one_shot {
                return Ok(stats::document(&first, None, &name, &id));
            }
            std::thread::sleep(STATS_INTERVAL);
            let second = stats::sample(&path, pid).map_err(ApiError::from_engine)?;
            Ok(stats::document(&second, Some(&first), &name, &id))
        })
        .await?;
        return Ok(http::json(StatusCode::OK, &doc));
    }
    let (tx, body) = bounded_body();
    tokio::spawn(blocking(move || {
        let mut prev = None;
        loop {
            let Ok(cur) = stats::sample(&path, pid) else {
                return Ok(());
            };
            let mut line = serde_json::to_vec(&stats::document(&cur, prev.as_ref(), &name, &id))
                .unwrap_or_default();
            line.push(b'\n');
            if tx.blocking_send(line.into()).is_err() || !c.snapshot().state.status.is_live() {
                return Ok(());
            }
            prev = Some(cur);
            std::thread::sleep(STATS_INTERVAL);
        }
    }));
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        body,
    ))
}
