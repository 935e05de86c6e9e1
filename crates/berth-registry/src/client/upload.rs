//! A streamed blob upload: one `PATCH` whose body is read from the source on a blocking thread
//! (1 MiB at a time, hashed on the way), so large blobs are never held in memory.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use berth_oci::Digest;
use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode, Url};
use tokio::sync::mpsc;

use super::error::ClientError;
use super::manifest::Descriptor;
use super::progress::{Tracker, TransferState};
use super::repo::Repository;
use super::sink::SinkError;
use super::verify::Hasher;

const READ_CHUNK: u64 = 1 << 20;
/// Chunks read ahead of the socket.
const QUEUE: usize = 4;

struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// What the source actually held: its digest and length, to check before committing.
pub(crate) struct Streamed {
    pub next_location: Url,
    pub digest: Digest,
    pub size: u64,
}

/// PATCHes the whole blob from `reader` to `location`.
pub(crate) async fn streamed_patch(
    repo: &Repository,
    location: Url,
    reader: Box<dyn Read + Send>,
    desc: &Descriptor,
    tracker: &Tracker,
) -> Result<Streamed, ClientError> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let (digest, tracker) = (desc.digest.clone(), tracker.clone());
    let producer = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let mut hasher = Hasher::for_digest(&digest);
        let mut size = 0u64;
        loop {
            let mut buf = Vec::with_capacity(READ_CHUNK as usize);
            if let Err(e) = (&mut reader).take(READ_CHUNK).read_to_end(&mut buf) {
                // Fail the request body too, so the registry never sees a short blob as complete.
                let _ = tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
            if buf.is_empty() {
                break;
            }
            size += buf.len() as u64;
            hasher.update(&buf);
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                break; // the request ended early; its error is reported instead
            }
            tracker.report(TransferState::Uploading, size);
        }
        Ok((hasher.finish(), size))
    });
    let resp = repo
        .send_stream(
            Method::PATCH,
            location.clone(),
            vec![(CONTENT_TYPE, "application/octet-stream".into())],
            reqwest::Body::wrap_stream(ChannelBody(rx)),
            &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
        )
        .await;
    let read = producer.await.map_err(|e| ClientError::Task {
        detail: e.to_string(),
    })?;
    let resp = resp?;
    let (digest, size) = read.map_err(|source| ClientError::Blob {
        digest: desc.digest.clone(),
        source: SinkError::Io {
            op: "read blob",
            path: desc.digest.to_string().into(),
            source,
        },
    })?;
    Ok(Streamed {
        next_location: super::push::next_location(&location, &resp)?,
        digest,
        size,
    })
}
