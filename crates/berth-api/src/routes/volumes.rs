//! Routes under `/volumes` (Docker API 1.41): create, list, inspect, remove, prune.

use std::sync::Arc;

use bollard_stubs::models::{VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};
use hyper::{Method, StatusCode};

use berth_engine::Engine;
use berth_engine::volumes::{CreateOptions, VolumeError, VolumeFilters};

use crate::error::ApiError;
use crate::filters::Filters;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    match (&ctx.method, segs.as_slice()) {
        (&Method::GET, ["volumes"]) => list(&ctx, &req).await,
        (&Method::POST, ["volumes", "create"]) => create(&ctx, req).await,
        (&Method::POST, ["volumes", "prune"]) => prune(&ctx, &req).await,
        (&Method::GET, ["volumes", name]) => {
            let name = name.to_string();
            let volume = blocking(&ctx.engine, move |e| e.inspect_volume(&name)).await?;
            Ok(http::json(StatusCode::OK, &volume))
        }
        (&Method::DELETE, ["volumes", name]) => {
            let name = name.to_string();
            let force = http::query_bool(&http::query(&req), "force");
            blocking(&ctx.engine, move |e| e.remove_volume(&name, force)).await?;
            Ok(http::status(StatusCode::NO_CONTENT))
        }
        _ => Err(not_found(&ctx)),
    }
}

async fn blocking<T, F>(engine: &Arc<Engine>, work: F) -> http::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, VolumeError> + Send + 'static,
{
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || work(&engine))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from_engine)
}

async fn create(ctx: &Ctx, req: Req) -> http::Result<Resp> {
    let bytes = http::body_bytes(req, http::MAX_JSON_BODY).await?;
    let body: VolumeCreateRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        VolumeCreateRequest::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let options = CreateOptions {
        name: body.name,
        driver: body.driver,
        driver_opts: body.driver_opts.unwrap_or_default(),
        labels: body.labels.unwrap_or_default(),
    };
    let volume = blocking(&ctx.engine, move |e| e.create_volume(options)).await?;
    Ok(http::json(StatusCode::CREATED, &volume))
}

fn parse_filters(req: &Req, allowed: &[&str]) -> http::Result<VolumeFilters> {
    let q = http::query(req);
    let filters = Filters::parse(q.get("filters").map(String::as_str))?;
    filters.only(allowed)?;
    let flag = |key: &str| -> http::Result<Option<bool>> {
        match filters.values(key) {
            [] => Ok(None),
            [one] => match one.as_str() {
                "1" | "true" | "True" => Ok(Some(true)),
                "0" | "false" | "False" => Ok(Some(false)),
                other => Err(ApiError::bad_request(format!(
                    "invalid filter '{key}={other}'"
                ))),
            },
            _ => Err(ApiError::bad_request(format!(
                "invalid filter '{key}': one value only"
            ))),
        }
    };
    Ok(VolumeFilters {
        name: filters.values("name").to_vec(),
        label: filters.values("label").to_vec(),
        label_not: filters.values("label!").to_vec(),
        dangling: flag("dangling")?,
        driver: filters.values("driver").to_vec(),
        all: flag("all")?,
    })
}

async fn list(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let filters = parse_filters(req, &["name", "label", "dangling", "driver"])?;
    let volumes = blocking(&ctx.engine, move |e| Ok(e.list_volumes(&filters))).await?;
    Ok(http::json(
        StatusCode::OK,
        &VolumeListResponse {
            volumes: Some(volumes),
            warnings: Some(Vec::new()),
        },
    ))
}

async fn prune(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let filters = parse_filters(req, &["label", "label!", "all"])?;
    let report = blocking(&ctx.engine, move |e| e.prune_volumes(&filters)).await?;
    Ok(http::json(
        StatusCode::OK,
        &VolumePruneResponse {
            volumes_deleted: Some(report.deleted),
            space_reclaimed: Some(report.space_reclaimed as i64),
        },
    ))
}
