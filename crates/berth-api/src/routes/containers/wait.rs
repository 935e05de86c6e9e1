//! `POST /containers/{id}/wait`: the status line and headers go out as soon as the waiter is
//! registered (the docker CLI waits for them before it starts the container), the JSON body
//! once the condition is met.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use bollard_stubs::models::{ContainerWaitExitError, ContainerWaitResponse};
use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::StatusCode;
use tokio::sync::oneshot;

use berth_engine::containers::WaitCondition;

use crate::error::ApiError;
use crate::http::{self, Resp};
use crate::router::Ctx;

pub async fn handle(ctx: &Ctx, id: String, q: &HashMap<String, String>) -> http::Result<Resp> {
    let condition = WaitCondition::parse(q.get("condition").map_or("", String::as_str))
        .map_err(ApiError::from_engine)?;
    let (tx, rx) = oneshot::channel();
    super::blocking(ctx, move |e| {
        let container = e.containers.get(&id)?;
        container.on_wait(
            condition,
            Box::new(move |outcome| {
                let _ = tx.send(outcome);
            }),
        );
        Ok(())
    })
    .await?;
    let body = OneShotBody(Some(rx));
    Ok(http::finish(
        hyper::Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json"),
        body.boxed_unsync(),
    ))
}

/// A body of one JSON document that arrives later.
struct OneShotBody(Option<oneshot::Receiver<berth_engine::containers::WaitOutcome>>);

impl http_body::Body for OneShotBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let Some(rx) = self.0.as_mut() else {
            return Poll::Ready(None);
        };
        let outcome = match Pin::new(rx).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        self.0 = None;
        let response = match outcome {
            Ok(o) => ContainerWaitResponse {
                status_code: o.status_code,
                error: o.error.map(|message| ContainerWaitExitError {
                    message: Some(message),
                }),
            },
            // The daemon is going away with the waiter.
            Err(_) => ContainerWaitResponse {
                status_code: -1,
                error: Some(ContainerWaitExitError {
                    message: Some("the daemon stopped waiting".into()),
                }),
            },
        };
        let mut bytes = serde_json::to_vec(&response).unwrap_or_default();
        bytes.push(b'\n');
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(bytes)))))
    }
}

use std::future::Future;
