//! Routes under `/exec/{id}`: start (hijacked stream or detached), inspect, resize. Creating
//! an exec is `POST /containers/{id}/exec` (in `container_io`).

mod attach;

use hyper::{Method, Response, StatusCode};

use bollard_stubs::models::ExecStartConfig;

use super::container_io::blocking;
use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    let (id, action) = match segs.as_slice() {
        ["exec", id, action] => (id.to_string(), action.to_string()),
        _ => return Err(not_found(&ctx)),
    };
    match (&ctx.method, action.as_str()) {
        (&Method::POST, "start") => start(&ctx, &id, req).await,
        (&Method::GET, "json") => {
            let exec = ctx.engine.execs.get(&id).map_err(ApiError::from_engine)?;
            Ok(http::json(StatusCode::OK, &exec.inspect()))
        }
        (&Method::POST, "resize") => resize(&ctx, &id, &req),
        _ => Err(not_found(&ctx)),
    }
}

fn resize(ctx: &Ctx, id: &str, req: &Req) -> http::Result<Resp> {
    let exec = ctx.engine.execs.get(id).map_err(ApiError::from_engine)?;
    let q = http::query(req);
    let dim = |key: &str| -> http::Result<u16> {
        q.get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError::bad_request(format!("invalid or missing {key}")))
    };
    exec.resize(dim("h")?, dim("w")?)
        .map_err(ApiError::from_engine)?;
    Ok(http::status(StatusCode::OK))
}

/// `POST /exec/{id}/start`: detached → 200 once running; attached → 101 and the stream.
async fn start(ctx: &Ctx, id: &str, mut req: Req) -> http::Result<Resp> {
    let exec = ctx.engine.execs.get(id).map_err(ApiError::from_engine)?;
    let upgrade = hyper::upgrade::on(&mut req);
    let config: ExecStartConfig = {
        let bytes = http::body_bytes(req, http::MAX_JSON_BODY).await?;
        if bytes.is_empty() {
            ExecStartConfig::default()
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
        }
    };
    if let Some([height, width]) = config.console_size.as_deref() {
        let dim = |v: &usize| u16::try_from(*v).unwrap_or(u16::MAX);
        exec.resize(dim(height), dim(width))
            .map_err(ApiError::from_engine)?;
    }
    let engine = ctx.engine.clone();
    let exec_id = exec.id.clone();
    if config.detach.unwrap_or(false) {
        blocking(move || {
            berth_engine::io::exec::start(&engine, &exec_id, true)
                .map(drop)
                .map_err(ApiError::from_engine)
        })
        .await?;
        return Ok(http::status(StatusCode::OK));
    }
    let tty = exec.spec.tty;
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => attach::run(engine, exec_id, tty, upgraded).await,
            Err(e) => tracing::debug!(error = %e, "exec start: connection not upgraded"),
        }
    });
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("Content-Type", "application/vnd.docker.raw-stream")
            .header("Connection", "Upgrade")
            .header("Upgrade", "tcp"),
        http::empty(),
    ))
}
