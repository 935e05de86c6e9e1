//! One blob download: streamed into a [`BlobWriter`] while hashing, resumed with `Range` after a
//! dropped connection, verified by size and digest before the sink commits it.

use berth_oci::Digest;
use reqwest::StatusCode;

use super::error::{ClientError, error_chain};
use super::manifest::Descriptor;
use super::progress::{Tracker, TransferState};
use super::repo::Repository;
use super::sink::{BlobSink, BlobWriter, SinkError};
use super::transport::header_str;
use super::verify::Hasher;

/// Progress is reported at most every this many bytes per blob (plus state changes).
const PROGRESS_STEP: u64 = 256 << 10;
/// Tries per blob when the body ends early (the first plus resumes).
const MAX_ATTEMPTS: u32 = 3;

/// `Ok(true)` when downloaded, `Ok(false)` when the sink already had it.
pub(crate) async fn fetch_one(
    repo: &Repository,
    desc: &Descriptor,
    sink: &dyn BlobSink,
    tracker: &Tracker,
) -> Result<bool, ClientError> {
    let digest = &desc.digest;
    if sink.has_blob(digest).map_err(blob_err(digest))? {
        tracker.report(TransferState::AlreadyExists, desc.size);
        return Ok(false);
    }
    let mut download = Download {
        desc,
        writer: sink.begin(digest, desc.size).map_err(blob_err(digest))?,
        hasher: Hasher::for_digest(digest),
        received: 0,
        reported: 0,
        url: String::new(),
    };
    tracker.report(TransferState::Downloading, 0);
    let mut attempt = 1;
    loop {
        match download.stream(repo, sink, tracker).await {
            Ok(()) => break,
            Err(ClientError::Truncated { .. }) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(%digest, received = download.received, "blob body ended early; resuming");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
    tracker.report(TransferState::Verifying, download.received);
    let actual = download.hasher.finish();
    if &actual != digest {
        // Dropping the writer discards the partial blob.
        return Err(ClientError::DigestMismatch {
            url: download.url,
            expected: digest.clone(),
            actual,
        });
    }
    download.writer.commit().map_err(blob_err(digest))?;
    tracker.report(TransferState::Done, desc.size);
    Ok(true)
}

fn blob_err(digest: &Digest) -> impl Fn(SinkError) -> ClientError + '_ {
    move |source| ClientError::Blob {
        digest: digest.clone(),
        source,
    }
}

struct Download<'a> {
    desc: &'a Descriptor,
    writer: Box<dyn BlobWriter>,
    hasher: Hasher,
    received: u64,
    reported: u64,
    /// The URL that served the bytes (after redirects), for error messages.
    url: String,
}

impl Download<'_> {
    /// One GET from `received` on, until the body ends. `Truncated` when it ends early.
    async fn stream(
        &mut self,
        repo: &Repository,
        sink: &dyn BlobSink,
        tracker: &Tracker,
    ) -> Result<(), ClientError> {
        let digest = &self.desc.digest;
        let mut resp = repo.get_blob(digest, self.received).await?;
        self.url = resp.url().to_string();
        let resumed = resp.status() == StatusCode::PARTIAL_CONTENT
            && header_str(resp.headers(), "content-range")
                .is_some_and(|r| r.starts_with(&format!("bytes {}-", self.received)));
        if self.received > 0 && !resumed {
            // The registry sent the whole blob (or a range we did not ask for): start over.
            self.writer = sink
                .begin(digest, self.desc.size)
                .map_err(blob_err(digest))?;
            self.hasher = Hasher::for_digest(digest);
            self.received = 0;
            if resp.status() != StatusCode::OK {
                return Err(ClientError::Truncated {
                    url: self.url.clone(),
                    digest: digest.clone(),
                    received: 0,
                    expected: self.desc.size,
                    detail: "unusable Content-Range in resumed download".into(),
                });
            }
        }
        let remaining = self.desc.size - self.received;
        if let Some(len) = resp.content_length()
            && len != remaining
        {
            return Err(self.size_mismatch(self.received + len));
        }
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => return Err(self.truncated(error_chain(&e))),
            };
            self.received += chunk.len() as u64;
            if self.received > self.desc.size {
                return Err(self.size_mismatch(self.received));
            }
            self.hasher.update(&chunk);
            self.writer.write(&chunk).map_err(blob_err(digest))?;
            if self.received - self.reported >= PROGRESS_STEP {
                self.reported = self.received;
                tracker.report(TransferState::Downloading, self.received);
            }
        }
        if self.received != self.desc.size {
            return Err(self.truncated("connection closed early".into()));
        }
        Ok(())
    }

    fn truncated(&self, detail: String) -> ClientError {
        ClientError::Truncated {
            url: self.url.clone(),
            digest: self.desc.digest.clone(),
            received: self.received,
            expected: self.desc.size,
            detail,
        }
    }

    fn size_mismatch(&self, actual: u64) -> ClientError {
        ClientError::SizeMismatch {
            url: self.url.clone(),
            digest: self.desc.digest.clone(),
            expected: self.desc.size,
            actual,
        }
    }
}
