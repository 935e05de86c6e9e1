//! Registry transfers: pull (`POST /images/create?fromImage=`), push, and `POST /auth`.
//! Problems found before the first progress line (a bad name, an unknown manifest, refused
//! credentials) are plain HTTP errors; later ones end the stream with Docker's `errorDetail`.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use berth_engine::images::auth::{self, AuthConfig};
use berth_engine::images::progress::{ProgressFn, ProgressMessage};
use berth_engine::images::pull::{self, PullJob};
use berth_engine::images::{self as engine_images, push as engine_push};

use super::stream;
use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;
use berth_engine::Engine;

/// Docker clients send credentials as base64url (padded or not) JSON in `X-Registry-Auth`.
fn registry_auth(req: &Req) -> http::Result<Option<AuthConfig>> {
    let Some(value) = req.headers().get("X-Registry-Auth") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("X-Registry-Auth is not ASCII"))?
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    let trimmed = text.trim_end_matches('=');
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|e| ApiError::bad_request(format!("X-Registry-Auth is not base64: {e}")))?;
    // Docker sends `{}` (or even `null`) when it has no credentials.
    let auth: Option<AuthConfig> = serde_json::from_slice(&decoded)
        .map_err(|e| ApiError::bad_request(format!("X-Registry-Auth is not valid JSON: {e}")))?;
    Ok(auth)
}

fn progress_to(tx: UnboundedSender<Bytes>) -> ProgressFn {
    Arc::new(move |m: ProgressMessage| {
        let _ = tx.send(stream::progress_line(&m));
    })
}

fn json_stream(body: http::Body) -> Resp {
    http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        body,
    )
}

/// `fromImage=busybox&tag=latest` (the tag may also be a digest, or part of fromImage).
fn pull_reference(image: &str, tag: &str) -> String {
    match tag {
        "" => image.to_owned(),
        t if t.contains(':') => format!("{image}@{t}"),
        t => format!("{image}:{t}"),
    }
}

pub async fn pull(
    ctx: Ctx,
    req: Req,
    q: &HashMap<String, String>,
    image: String,
) -> http::Result<Resp> {
    // `pull -a` from older clients sends `busybox:` (Docker strips the colon too).
    let image = match image.strip_suffix(':') {
        Some(stripped) => stripped.to_owned(),
        None => image,
    };
    let tag = q.get("tag").map(String::as_str).unwrap_or("");
    if tag.is_empty() && names_no_tag(&image) {
        return pull_all_tags(ctx, req, q, image).await;
    }
    let text = pull_reference(&image, tag);
    let reference = engine_images::parse_reference(&text).map_err(ApiError::from_engine)?;
    let platform = platform(q)?;
    let auth = registry_auth(&req)?;
    let client = auth::client_for(&ctx.engine, reference.domain(), auth.as_ref())
        .map_err(ApiError::from_engine)?;
    let resolved = pull::resolve(&client, &reference, platform.as_ref())
        .await
        .map_err(ApiError::from_engine)?;
    let (tx, body) = stream::lines_body();
    let progress = progress_to(tx.clone());
    let engine = ctx.engine.clone();
    tokio::spawn(async move {
        let started = tokio::task::spawn_blocking(move || {
            PullJob::start(engine, reference, resolved, progress)
        })
        .await;
        let job = match started {
            Ok(Ok(job)) => job,
            Ok(Err(e)) => return fail(&tx, &e.to_string()),
            Err(e) => return fail(&tx, &format!("pull task failed: {e}")),
        };
        let downloaded = job.download(&client).await;
        match tokio::task::spawn_blocking(move || job.finish(downloaded)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => fail(&tx, &e.to_string()),
            Err(e) => fail(&tx, &format!("pull task failed: {e}")),
        }
    });
    Ok(json_stream(body))
}

fn platform(q: &HashMap<String, String>) -> http::Result<Option<berth_oci::Platform>> {
    match q.get("platform").filter(|p| !p.is_empty()) {
        Some(p) => p
            .parse::<berth_oci::Platform>()
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("invalid platform {p:?}: {e}"))),
        None => Ok(None),
    }
}

/// `fromImage=busybox` with an empty `tag`: Docker's "pull every tag" (what `docker pull -a`
/// sends). A name with its own tag or digest is one image.
fn names_no_tag(image: &str) -> bool {
    berth_oci::Reference::parse_name_only(image)
        .is_ok_and(|r| r.tag().is_none() && r.digest().is_none())
}

/// `pull -a`: the tag list is fetched first (an unknown repository is a plain HTTP error),
/// then each tag is pulled in turn, as Docker does, with one `Status:` line for the repository.
async fn pull_all_tags(
    ctx: Ctx,
    req: Req,
    q: &HashMap<String, String>,
    image: String,
) -> http::Result<Resp> {
    let repository = berth_oci::Reference::parse_name_only(&image).map_err(|source| {
        ApiError::from_engine(engine_images::ImageError::BadReference {
            name: image.clone(),
            source,
        })
    })?;
    let platform = platform(q)?;
    let auth = registry_auth(&req)?;
    let client = auth::client_for(&ctx.engine, repository.domain(), auth.as_ref())
        .map_err(ApiError::from_engine)?;
    let tags = pull::all_tags(&client, &repository)
        .await
        .map_err(ApiError::from_engine)?;
    let (tx, body) = stream::lines_body();
    let progress = progress_to(tx.clone());
    let engine = ctx.engine.clone();
    tokio::spawn(async move {
        let mut up_to_date = true;
        for reference in tags {
            let resolved = match pull::resolve(&client, &reference, platform.as_ref()).await {
                Ok(r) => r,
                Err(e) => return fail(&tx, &e.to_string()),
            };
            let (engine, progress) = (engine.clone(), progress.clone());
            let started = tokio::task::spawn_blocking(move || {
                PullJob::start(engine, reference, resolved, progress)
            })
            .await;
            let job = match started {
                Ok(Ok(job)) => job,
                Ok(Err(e)) => return fail(&tx, &e.to_string()),
                Err(e) => return fail(&tx, &format!("pull task failed: {e}")),
            };
            let downloaded = job.download(&client).await;
            match tokio::task::spawn_blocking(move || job.finish_tag(downloaded)).await {
                Ok(Ok(pulled)) => up_to_date &= pulled.up_to_date,
                Ok(Err(e)) => return fail(&tx, &e.to_string()),
                Err(e) => return fail(&tx, &format!("pull task failed: {e}")),
            }
        }
        progress(pull::status_line(&repository.familiar_name(), up_to_date));
    });
    Ok(json_stream(body))
}

fn fail(tx: &UnboundedSender<Bytes>, message: &str) {
    tracing::warn!(error = %message, "image transfer failed");
    let _ = tx.send(stream::error_line(message));
}

pub async fn push(ctx: Ctx, req: Req, name: String) -> http::Result<Resp> {
    let q = http::query(&req);
    let tag = q.get("tag").cloned().unwrap_or_default();
    let auth = registry_auth(&req)?;
    let engine = ctx.engine.clone();
    let (lookup_name, lookup_tag) = (name.clone(), tag.clone());
    let targets = super::blocking(&engine, move |e| {
        engine_push::targets(e, &lookup_name, &lookup_tag)
    })
    .await
    .map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::not_found(format!(
                "An image does not exist locally with the tag: {}",
                engine_images::familiar_or_raw(&name).trim_end_matches(":latest")
            ))
        } else {
            e
        }
    })?;
    let domain = targets
        .first()
        .map(|t| t.domain().to_owned())
        .unwrap_or_default();
    let client =
        auth::client_for(&ctx.engine, &domain, auth.as_ref()).map_err(ApiError::from_engine)?;
    let (tx, body) = stream::lines_body();
    let progress = progress_to(tx.clone());
    tokio::spawn(async move {
        if let Some(first) = targets.first() {
            progress(ProgressMessage::line(format!(
                "The push refers to repository [{}]",
                first.name()
            )));
        }
        for target in &targets {
            if let Err(e) = engine_push::push(&engine, &client, target, &progress).await {
                return fail(&tx, &e.to_string());
            }
        }
    });
    Ok(json_stream(body))
}

/// `POST /auth`: checks the credentials against the registry (nothing is stored).
pub async fn auth(engine: &Engine, req: Req) -> http::Result<Resp> {
    let config: AuthConfig = http::json_body(req).await?;
    let identity_token = auth::login(engine, &config).await.map_err(|e| {
        let mut err = ApiError::from_engine(e);
        // Docker answers a refused login with 401 whatever the registry's reason.
        if err.status == StatusCode::INTERNAL_SERVER_ERROR || err.status == StatusCode::NOT_FOUND {
            err.status = StatusCode::UNAUTHORIZED;
        }
        err
    })?;
    Ok(http::json(
        StatusCode::OK,
        &json!({"Status": "Login Succeeded", "IdentityToken": identity_token.unwrap_or_default()}),
    ))
}

/// `GET /distribution/{name}/json`: the registry's descriptor and platforms for `name`.
pub async fn distribution(engine: &Engine, req: Req, name: String) -> http::Result<Resp> {
    let reference = engine_images::parse_reference(&name).map_err(ApiError::from_engine)?;
    let auth = registry_auth(&req)?;
    let client = auth::client_for(engine, reference.domain(), auth.as_ref())
        .map_err(ApiError::from_engine)?;
    let inspect = engine_images::distribution::inspect(&client, &reference)
        .await
        .map_err(ApiError::from_engine)?;
    Ok(http::json(StatusCode::OK, &inspect))
}
