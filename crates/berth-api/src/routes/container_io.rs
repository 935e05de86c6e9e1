//! Container I/O and inspection routes under `/containers/{id}/…`: logs, exec (create), top,
//! stats, export, changes, archive. `containers.rs` hands over what it does not match.

mod archive;
pub(crate) mod attach_logs;
mod info;
mod logs;
pub(crate) mod stream;

use std::sync::Arc;

use hyper::{Method, StatusCode};

use berth_engine::containers::Container;

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    let (id, action) = match segs.as_slice() {
        ["containers", id, action] => (id.to_string(), action.to_string()),
        _ => return Err(not_found(&ctx)),
    };
    match (&ctx.method, action.as_str()) {
        (&Method::GET, "logs") => logs::logs(&ctx, &id, req).await,
        (&Method::GET, "top") => info::top(&ctx, &id, &req).await,
        (&Method::GET, "stats") => info::stats(&ctx, &id, &req).await,
        (&Method::GET, "changes") => info::changes(&ctx, &id).await,
        (&Method::GET, "export") => archive::export(&ctx, &id).await,
        (&Method::HEAD, "archive") => archive::head(&ctx, &id, &req).await,
        (&Method::GET, "archive") => archive::get(&ctx, &id, &req).await,
        (&Method::PUT, "archive") => archive::put(&ctx, &id, req).await,
        (&Method::POST, "exec") => exec_create(&ctx, &id, req).await,
        _ => Err(not_found(&ctx)),
    }
}

/// The container by name or ID, or Docker's 404.
pub(crate) fn container(ctx: &Ctx, id: &str) -> http::Result<Arc<Container>> {
    ctx.engine.containers.get(id).map_err(ApiError::from_engine)
}

/// Runs blocking engine code off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> http::Result<T> + Send + 'static,
) -> http::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// `POST /containers/{id}/exec` → 201 `{"Id": …}`.
async fn exec_create(ctx: &Ctx, id: &str, req: Req) -> http::Result<Resp> {
    let config: bollard_stubs::models::ExecConfig = http::json_body(req).await?;
    let engine = ctx.engine.clone();
    let id = id.to_string();
    let exec_id = blocking(move || {
        berth_engine::io::exec::create(&engine, &id, config).map_err(ApiError::from_engine)
    })
    .await?;
    Ok(http::json(
        StatusCode::CREATED,
        &serde_json::json!({ "Id": exec_id }),
    ))
}
