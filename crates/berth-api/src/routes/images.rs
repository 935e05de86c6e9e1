//! Routes under `/images`, plus `POST /auth` and `GET /system/df` (image side): listing,
//! inspection, tags and removal here; archives in `images/archive.rs`; registry transfers in
//! `images/transfer.rs`. Image names may contain slashes and colons
//! (`/images/localhost:5000/a/b:tag/json`): the middle segments are joined back.

mod archive;
mod stream;
mod transfer;

use std::collections::HashMap;
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::json;

use berth_engine::Engine;
use berth_engine::images::{self as engine_images, filters::Filters, list::ListOptions};

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    let method = ctx.method.clone();
    match (&method, segs.as_slice()) {
        (&Method::POST, ["auth"]) => transfer::auth(&ctx.engine, req).await,
        (&Method::POST, ["commit"]) => commit(&ctx, &req).await,
        (&Method::GET, ["distribution", name @ .., "json"]) if !name.is_empty() => {
            transfer::distribution(&ctx.engine, req, name.join("/")).await
        }
        (&Method::GET, ["images", "json"]) => list(&ctx, &req).await,
        (&Method::POST, ["images", "create"]) => create(ctx, req).await,
        (&Method::POST, ["images", "load"]) => archive::load(ctx, req).await,
        (&Method::GET, ["images", "get"]) => {
            let names = query_all(&req, "names");
            archive::save(ctx, names).await
        }
        (&Method::POST, ["images", "prune"]) => prune(&ctx, &req).await,
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            remove(&ctx, &req, &name.join("/")).await
        }
        (_, ["images", name @ .., action]) if !name.is_empty() => {
            let name = name.join("/");
            match (&method, *action) {
                (&Method::GET, "json") => inspect(&ctx, name).await,
                (&Method::GET, "history") => history(&ctx, name).await,
                (&Method::POST, "tag") => tag(&ctx, &req, name).await,
                (&Method::POST, "push") => transfer::push(ctx, req, name).await,
                (&Method::GET, "get") => archive::save(ctx, vec![name]).await,
                _ => Err(not_found(&ctx)),
            }
        }
        _ => Err(not_found(&ctx)),
    }
}

/// Every value of a repeated query key (`names=a&names=b`), decoded.
pub(crate) fn query_all(req: &Req, key: &str) -> Vec<String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, _)| http::percent_decode(k) == key)
        .map(|(_, v)| http::percent_decode(v))
        .collect()
}

/// Runs engine work on a blocking thread; its error becomes Docker's status and message.
pub(crate) async fn blocking<T, F>(engine: &Arc<Engine>, work: F) -> http::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, engine_images::ImageError> + Send + 'static,
{
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || work(&engine))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("image task failed: {e}"),
            )
        })?
        .map_err(ApiError::from_engine)
}

fn filters(q: &HashMap<String, String>) -> http::Result<Filters> {
    Filters::parse(q.get("filters").map(String::as_str).unwrap_or(""))
        .map_err(ApiError::from_engine)
}

/// API 1.41's summary still carries `VirtualSize` (= Size).
#[derive(Serialize)]
struct SummaryV141 {
    #[serde(flatten)]
    summary: bollard_stubs::models::ImageSummary,
    #[serde(rename = "VirtualSize")]
    virtual_size: i64,
}

fn with_virtual_size(list: Vec<bollard_stubs::models::ImageSummary>) -> Vec<SummaryV141> {
    list.into_iter()
        .map(|summary| SummaryV141 {
            virtual_size: summary.size,
            summary,
        })
        .collect()
}

async fn list(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let q = http::query(req);
    let mut options = ListOptions {
        all: http::query_bool(&q, "all"),
        filters: filters(&q)?,
        count_containers: false,
    };
    // The pre-1.25 `filter=name` parameter is a reference filter.
    if let Some(name) = q.get("filter").filter(|f| !f.is_empty()) {
        options
            .filters
            .0
            .entry("reference".to_owned())
            .or_default()
            .push(name.clone());
    }
    let images = blocking(&ctx.engine, move |e| engine_images::list::list(e, &options)).await?;
    Ok(http::json(StatusCode::OK, &with_virtual_size(images)))
}

async fn inspect(ctx: &Ctx, name: String) -> http::Result<Resp> {
    let details = blocking(&ctx.engine, move |e| {
        engine_images::inspect::inspect(e, &name)
    })
    .await?;
    Ok(http::json(StatusCode::OK, &details))
}

async fn history(ctx: &Ctx, name: String) -> http::Result<Resp> {
    let rows = blocking(&ctx.engine, move |e| {
        engine_images::inspect::history(e, &name)
    })
    .await?;
    Ok(http::json(StatusCode::OK, &rows))
}

async fn tag(ctx: &Ctx, req: &Req, name: String) -> http::Result<Resp> {
    let q = http::query(req);
    let repo = q.get("repo").cloned().unwrap_or_default();
    let tag = q.get("tag").cloned().unwrap_or_default();
    if repo.is_empty() {
        return Err(ApiError::bad_request(
            "repository name must have at least one component",
        ));
    }
    blocking(&ctx.engine, move |e| {
        engine_images::remove::tag(e, &name, &repo, &tag)
    })
    .await?;
    Ok(http::status(StatusCode::CREATED))
}

async fn remove(ctx: &Ctx, req: &Req, name: &str) -> http::Result<Resp> {
    let q = http::query(req);
    let force = http::query_bool(&q, "force");
    let prune_layers = !http::query_bool(&q, "noprune");
    let name = name.to_owned();
    let items = blocking(&ctx.engine, move |e| {
        engine_images::remove::remove(e, &name, force, prune_layers)
    })
    .await?;
    Ok(http::json(StatusCode::OK, &items))
}

async fn prune(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let q = http::query(req);
    let filters = filters(&q)?;
    let report = blocking(&ctx.engine, move |e| {
        engine_images::remove::prune(e, &filters)
    })
    .await?;
    Ok(http::json(StatusCode::OK, &report))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&changes=`: answers `{"Id": …}`.
async fn commit(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let q = http::query(req);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let options = engine_images::commit::CommitOptions {
        container: get("container"),
        repo: get("repo"),
        tag: get("tag"),
        comment: get("comment"),
        author: get("author"),
        changes: query_all(req, "changes"),
    };
    if options.container.is_empty() {
        return Err(ApiError::bad_request("container is required"));
    }
    let id = blocking(&ctx.engine, move |e| {
        engine_images::commit::commit(e, &options)
    })
    .await?;
    Ok(http::json(StatusCode::CREATED, &json!({ "Id": id })))
}

/// `POST /images/create`: a pull (`fromImage`) or an import (`fromSrc`).
async fn create(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let q = http::query(&req);
    match (q.get("fromImage"), q.get("fromSrc")) {
        (Some(image), _) if !image.is_empty() => {
            let image = image.clone();
            transfer::pull(ctx, req, &q, image).await
        }
        (_, Some(src)) if !src.is_empty() => archive::import(ctx, req, &q, src.clone()).await,
        _ => Err(ApiError::bad_request(
            "either fromImage or fromSrc is required",
        )),
    }
}

/// The image half of `GET /system/df` (see `system_df.rs`): the layer total and every image
/// with its container count and the bytes it shares with other images.
pub(crate) async fn images_disk_usage(ctx: &Ctx) -> http::Result<(u64, serde_json::Value)> {
    let (layers_size, images) = blocking(&ctx.engine, |e| {
        let options = ListOptions {
            all: true,
            filters: Filters::default(),
            count_containers: true,
        };
        let images = engine_images::list::list(e, &options)?;
        let usage = e
            .store
            .disk_usage(&engine_images::ContainerUsers(&e.containers))?;
        let shared: HashMap<String, u64> = usage
            .images
            .iter()
            .map(|i| (i.id.to_string(), i.shared_size))
            .collect();
        let images: Vec<_> = images
            .into_iter()
            .map(|mut i| {
                i.shared_size = shared.get(&i.id).copied().unwrap_or(0) as i64;
                i
            })
            .collect();
        Ok((usage.layers_size, images))
    })
    .await?;
    Ok((layers_size, json!(with_virtual_size(images))))
}
