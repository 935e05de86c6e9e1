//! `POST /containers/{id}/update`: Docker's `ContainerUpdateBody` (restart policy and
//! resources) in, `{"Warnings":[]}` out.

use bollard_stubs::models::{ContainerUpdateBody, ContainerUpdateResponse};
use hyper::StatusCode;

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

pub async fn handle(ctx: &Ctx, id: String, req: Req) -> http::Result<Resp> {
    let body: ContainerUpdateBody = http::json_body(req).await?;
    let engine = ctx.engine.clone();
    let warnings = tokio::task::spawn_blocking(move || engine.update_container(&id, &body))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the update failed: {e}"),
            )
        })?
        .map_err(ApiError::from_engine)?;
    Ok(http::json(
        StatusCode::OK,
        &ContainerUpdateResponse {
            warnings: Some(warnings),
        },
    ))
}
