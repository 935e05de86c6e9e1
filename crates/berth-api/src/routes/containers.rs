//! Routes under `/containers`: create, list, inspect, the lifecycle (start, stop, kill,
//! restart, pause, unpause, wait, rename, resize, remove, update) and attach. Everything else under
//! `/containers/{id}/…` (logs, exec, top, stats, archive…) goes to `container_io`.

mod attach;
mod update;
mod wait;

use std::collections::HashMap;
use std::sync::Arc;

use bollard_stubs::models::ContainerCreateResponse;
use hyper::{Method, StatusCode};

use berth_engine::Engine;
use berth_engine::containers::{ContainerError, CreateRequest, ListOptions};

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<String> = ctx.segments.clone();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let q = http::query(&req);
    match (&ctx.method, &segs[..]) {
        (&Method::POST, ["containers", "create"]) => create(&ctx, q, req).await,
        (&Method::GET, ["containers", "json"]) => list(&ctx, &q).await,
        (&Method::POST, ["containers", "prune"]) => prune(&ctx, &q).await,
        (&Method::GET, ["containers", id, "json"]) => {
            let (id, size) = (id.to_string(), http::query_bool(&q, "size"));
            let inspect = blocking(&ctx, move |e| e.inspect_container(&id, size)).await?;
            Ok(http::json(StatusCode::OK, &inspect))
        }
        (&Method::DELETE, ["containers", id]) => {
            let id = id.to_string();
            let (force, volumes) = (http::query_bool(&q, "force"), http::query_bool(&q, "v"));
            blocking(&ctx, move |e| e.remove_container(&id, force, volumes)).await?;
            Ok(http::status(StatusCode::NO_CONTENT))
        }
        (&Method::POST, ["containers", _, "exec"]) => super::container_io::handle(ctx, req).await,
        (&Method::POST, ["containers", id, action]) => {
            let id = id.to_string();
            match *action {
                "wait" => wait::handle(&ctx, id, &q).await,
                "attach" => attach::handle(&ctx, id, &q, req).await,
                "update" => update::handle(&ctx, id, req).await,
                _ => lifecycle(&ctx, id, action, &q).await,
            }
        }
        _ => super::container_io::handle(ctx, req).await,
    }
}

/// Runs an engine call on the blocking pool; engine errors become Docker's status codes.
pub(crate) async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    call: impl FnOnce(&Arc<Engine>) -> Result<T, ContainerError> + Send + 'static,
) -> http::Result<T> {
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || call(&engine))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the operation failed: {e}"),
            )
        })?
        .map_err(ApiError::from_engine)
}

async fn create(ctx: &Ctx, q: HashMap<String, String>, req: Req) -> http::Result<Resp> {
    let raw: serde_json::Value = http::json_body(req).await?;
    let body = berth_engine::network::create_body_from_json(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let request = CreateRequest {
        name: q.get("name").cloned(),
        body,
    };
    let created = blocking(ctx, move |e| e.create_container(request)).await?;
    Ok(http::json(
        StatusCode::CREATED,
        &ContainerCreateResponse {
            id: created.id,
            warnings: created.warnings,
        },
    ))
}

async fn list(ctx: &Ctx, q: &HashMap<String, String>) -> http::Result<Resp> {
    let mut filters = ListOptions::parse_filters(q.get("filters").map_or("", String::as_str))
        .map_err(ApiError::from_engine)?;
    // Pre-1.24 clients pass before/since as plain parameters.
    for key in ["before", "since"] {
        if let Some(v) = q.get(key).filter(|v| !v.is_empty()) {
            filters.entry(key.into()).or_default().push(v.clone());
        }
    }
    let limit = match q.get("limit").map(|l| l.parse::<i64>()) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n as usize),
        Some(Ok(_)) => None,
        Some(Err(_)) => return Err(ApiError::bad_request("limit: not a number")),
    };
    let options = ListOptions {
        all: http::query_bool(q, "all"),
        limit,
        size: http::query_bool(q, "size"),
        filters,
    };
    let list = blocking(ctx, move |e| e.list_containers(&options)).await?;
    Ok(http::json(StatusCode::OK, &list))
}

/// `POST /containers/prune?filters=`: Docker's `ContainersDeleted` / `SpaceReclaimed`.
async fn prune(ctx: &Ctx, q: &HashMap<String, String>) -> http::Result<Resp> {
    use berth_engine::containers::prune::{PruneFilters, now_secs};
    let filters = q.get("filters").map(String::as_str).unwrap_or("");
    let filters = PruneFilters::parse(filters, now_secs()).map_err(ApiError::from_engine)?;
    let report = blocking(ctx, move |e| e.prune_containers(&filters)).await?;
    Ok(http::json(
        StatusCode::OK,
        &serde_json::json!({
            "ContainersDeleted": report.deleted,
            "SpaceReclaimed": report.space_reclaimed,
        }),
    ))
}

fn int_param<T: std::str::FromStr>(
    q: &HashMap<String, String>,
    key: &str,
) -> http::Result<Option<T>> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{key}: {v:?} is not a number"))),
    }
}

async fn lifecycle(
    ctx: &Ctx,
    id: String,
    action: &str,
    q: &HashMap<String, String>,
) -> http::Result<Resp> {
    let signal = q.get("signal").cloned();
    let no_content = Ok(http::status(StatusCode::NO_CONTENT));
    match action {
        "start" => {
            blocking(ctx, move |e| e.start_container(&id)).await?;
            no_content
        }
        "stop" => {
            let t = int_param::<i64>(q, "t")?;
            blocking(ctx, move |e| e.stop_container(&id, t, signal.as_deref())).await?;
            no_content
        }
        "restart" => {
            let t = int_param::<i64>(q, "t")?;
            blocking(ctx, move |e| e.restart_container(&id, t, signal.as_deref())).await?;
            no_content
        }
        "kill" => {
            let signal = signal.unwrap_or_default();
            blocking(ctx, move |e| e.kill_container(&id, &signal)).await?;
            no_content
        }
        "pause" => {
            blocking(ctx, move |e| e.pause_container(&id)).await?;
            no_content
        }
        "unpause" => {
            blocking(ctx, move |e| e.unpause_container(&id)).await?;
            no_content
        }
        "rename" => {
            let name = q.get("name").cloned().unwrap_or_default();
            blocking(ctx, move |e| e.rename_container(&id, &name)).await?;
            no_content
        }
        "resize" => {
            let h = int_param::<u16>(q, "h")?.unwrap_or(0);
            let w = int_param::<u16>(q, "w")?.unwrap_or(0);
            blocking(ctx, move |e| e.resize_container(&id, h, w)).await?;
            Ok(http::status(StatusCode::OK))
        }
        _ => Err(crate::router::not_found(ctx)),
    }
}
