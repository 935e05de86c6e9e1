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
    let (reader, rest) = BodyReader::spawn(req.into_body());
    let loaded = blocking(&ctx.engine, move |e| {
        engine_images::archive::load(e, reader)
    })
    .await;
    let _ = rest.await;
    let lines = loaded?;
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

/// `fromSrc=-`: the body is a rootfs tar; `fromSrc=<url>`: the daemon downloads it. Answers
/// `{"status":"sha256:…"}` like Docker.
pub async fn import(
    ctx: Ctx,
    req: Req,
    q: &HashMap<String, String>,
    src: String,
) -> http::Result<Resp> {
    if src != "-" {
        return import_url(ctx, req, q, src).await;
    }
    let repo = q.get("repo").cloned().unwrap_or_default();
    let tag = q.get("tag").cloned().unwrap_or_default();
    let changes = query_all(&req, "changes");
    let message = q.get("message").cloned().unwrap_or_default();
    let (reader, rest) = BodyReader::spawn(req.into_body());
    let imported = blocking(&ctx.engine, move |e| {
        engine_images::archive::import(e, reader, &repo, &tag, &changes, &message)
    })
    .await;
    let _ = rest.await;
    let id = imported?;
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        http::full(stream::line(&json!({"status": id}))),
    ))
}

/// `fromSrc=http://…`: connects first (a dead source is a plain HTTP error), then streams
/// Docker's messages: `Downloading from …`, `Importing` progress, the new image's ID.
async fn import_url(
    ctx: Ctx,
    req: Req,
    q: &HashMap<String, String>,
    src: String,
) -> http::Result<Resp> {
    let repo = q.get("repo").cloned().unwrap_or_default();
    let tag = q.get("tag").cloned().unwrap_or_default();
    let changes = query_all(&req, "changes");
    let message = q.get("message").cloned().unwrap_or_default();
    let opened = src.clone();
    let download = blocking(&ctx.engine, move |_| {
        engine_images::import_url::open(&opened).map_err(Into::into)
    })
    .await?;
    let (tx, body) = stream::lines_body();
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        let _ = tx.send(stream::line(
            &json!({"status": format!("Downloading from {}", download.url)}),
        ));
        let progress_tx = tx.clone();
        let progress: engine_images::progress::ProgressFn =
            std::sync::Arc::new(move |m: engine_images::progress::ProgressMessage| {
                let _ = progress_tx.send(stream::progress_line(&m));
            });
        let reader = download.into_reader(progress);
        let imported = engine_images::archive::import_from(
            &engine, reader, &src, &repo, &tag, &changes, &message,
        );
        let _ = match imported {
            Ok(id) => tx.send(stream::line(&json!({"status": id}))),
            Err(e) => {
                tracing::warn!(error = %e, source = %src, "import from a URL failed");
                tx.send(stream::error_line(&e.to_string()))
            }
        };
    });
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        body,
    ))
}
