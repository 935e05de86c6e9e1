//! `POST /images/load`, `GET /images/{name}/get` + `GET /images/get?names=`, and the import
//! half of `POST /images/create`: archives stream between the connection and the store.

use std::collections::HashMap;

use hyper::{Response, StatusCode};
use serde_json::json;

use berth_engine::images as engine_images;

use super::stream::{self, BodyReader};
use super::{blocking, query_all};
use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

/// Loads the archive in the body; answers with Docker's `{"stream":"Loaded image: …\n"}`
/// lines once it is in the store (a bad archive is a plain 400 and leaves nothing behind).
pub async fn load(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let reader = BodyReader::spawn(req.into_body());
    let lines = blocking(&ctx.engine, move |e| {
        engine_images::archive::load(e, reader)
    })
    .await?;
    let mut body = Vec::new();
    for text in lines {
        body.extend_from_slice(&stream::line(&json!({"stream": format!("{text}\n")})));
    }
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        http::full(body),
    ))
}

/// Streams a `docker save` archive of `names`; unknown names are a 404 before any byte.
pub async fn save(ctx: Ctx, names: Vec<String>) -> http::Result<Resp> {
    if names.is_empty() {
        return Err(ApiError::bad_request("no image names given"));
    }
    let check = names.clone();
    blocking(&ctx.engine, move |e| {
        engine_images::archive::check_save(e, &check)
    })
    .await?;
    let (mut writer, body) = stream::writer_body();
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        let result = engine_images::archive::save(&engine, &names, &mut writer)
            .map(|_| ())
            .map_err(|e| e.to_string())
            .and_then(|()| std::io::Write::flush(&mut writer).map_err(|e| e.to_string()));
        if let Err(e) = result {
            // The client sees the body end with an error, not a short tar that looks whole.
            tracing::warn!(error = %e, "save failed mid-stream");
            writer.fail(e);
        }
    });
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/x-tar"),
        body,
    ))
}

/// `fromSrc=-`: the body is a rootfs tar. Answers `{"status":"sha256:…"}` like Docker.
pub async fn import(
    ctx: Ctx,
    req: Req,
    q: &HashMap<String, String>,
    src: String,
) -> http::Result<Resp> {
    if src != "-" {
        return Err(ApiError::bad_request(format!(
            "importing from {src:?} is not supported: only fromSrc=- (the request body)"
        )));
    }
    let repo = q.get("repo").cloned().unwrap_or_default();
    let tag = q.get("tag").cloned().unwrap_or_default();
    let changes = query_all(&req, "changes");
    let message = q.get("message").cloned().unwrap_or_default();
    let reader = BodyReader::spawn(req.into_body());
    let id = blocking(&ctx.engine, move |e| {
        engine_images::archive::import(e, reader, &repo, &tag, &changes, &message)
    })
    .await?;
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        http::full(stream::line(&json!({"status": id}))),
    ))
}
