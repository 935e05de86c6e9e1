//! Push: blobs first (HEAD to skip, cross-repository mount, monolithic PUT or chunked PATCH),
//! then child manifests by digest, then the root manifest or index by tag.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::error::ClientError;
use super::manifest::{Descriptor, Manifest};
use super::progress::{BlobRole, Progress, Quiet, Tracker, TransferState};
use super::pull::parse_held;
use super::repo::Repository;
use super::sink::{BlobSource, SinkError};
use super::transport::{RegistryClient, UploadMode, header_str};
use super::upload;
use super::verify::{Hasher, digest_like};
use berth_oci::Digest;
use berth_oci::Reference;

const OCTET_STREAM: &str = "application/octet-stream";

#[derive(Clone)]
pub struct PushOptions {
    /// A repository on the same registry that already holds these blobs: missing blobs are
    /// first offered as cross-repository mounts from it.
    pub mount_from: Option<String>,
    pub progress: Arc<dyn Progress>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            mount_from: None,
            progress: Arc::new(Quiet),
        }
    }
}

impl std::fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushOptions")
            .field("mount_from", &self.mount_from)
            .finish()
    }
}

/// What a push did, blob by blob.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub uploaded_monolithic: usize,
    pub uploaded_chunked: usize,
    pub uploaded_streamed: usize,
    pub mounted: usize,
    pub already_present: usize,
    pub manifests: usize,
}

/// Counters shared by the transfer tasks while a push runs.
#[derive(Debug, Default)]
struct Counters {
    uploaded_monolithic: AtomicUsize,
    uploaded_chunked: AtomicUsize,
    uploaded_streamed: AtomicUsize,
    mounted: AtomicUsize,
    already_present: AtomicUsize,
    manifests: AtomicUsize,
}

impl Counters {
    fn bump(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> PushReport {
        let get = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        PushReport {
            uploaded_monolithic: get(&self.uploaded_monolithic),
            uploaded_chunked: get(&self.uploaded_chunked),
            uploaded_streamed: get(&self.uploaded_streamed),
            mounted: get(&self.mounted),
            already_present: get(&self.already_present),
            manifests: get(&self.manifests),
        }
    }
}

impl RegistryClient {
    /// Pushes the tree under `root` (a manifest or an index) from `source` to `target`: the
    /// root goes under `target`'s tag (or its digest when the target has none).
    pub async fn push(
        &self,
        source: Arc<dyn BlobSource>,
        root: &Descriptor,
        target: &Reference,
        options: &PushOptions,
    ) -> Result<PushReport, ClientError> {
        let extra: Vec<&str> = options.mount_from.iter().map(String::as_str).collect();
        let repo = Repository::new(self, target.domain(), target.path(), true, &extra)?;
        let report = Arc::new(Counters::default());
        let ctx = PushCtx {
            repo,
            source,
            options: options.clone(),
            report: report.clone(),
        };
        let bytes = ctx.read_manifest(root)?;
        match parse_held(&root.media_type, &bytes, &root.digest)? {
            Manifest::Image(m) => ctx.push_blobs(&m.config, &m.layers).await?,
            Manifest::Index(index) => {
                for child in &index.manifests {
                    let child_bytes = ctx.read_manifest(child)?;
                    let Manifest::Image(m) =
                        parse_held(&child.media_type, &child_bytes, &child.digest)?
                    else {
                        return Err(ClientError::NothingToPush {
                            what: format!("nested index {} inside {}", child.digest, root.digest),
                        });
                    };
                    ctx.push_blobs(&m.config, &m.layers).await?;
                    ctx.put_manifest(&child.digest.to_string(), child, child_bytes)
                        .await?;
                }
            }
        }
        let reference = target
            .tag()
            .map(str::to_owned)
            .unwrap_or_else(|| root.digest.to_string());
        ctx.put_manifest(&reference, root, bytes).await?;
        Ok(report.snapshot())
    }
}

struct PushCtx {
    repo: Repository,
    source: Arc<dyn BlobSource>,
    options: PushOptions,
    report: Arc<Counters>,
}

impl PushCtx {
    fn read_manifest(&self, desc: &Descriptor) -> Result<Bytes, ClientError> {
        let bytes = self
            .source
            .read_all(&desc.digest)
            .map_err(|source| ClientError::Blob {
                digest: desc.digest.clone(),
                source,
            })?;
        let actual = digest_like(&desc.digest, &bytes);
        if actual != desc.digest {
            return Err(ClientError::DigestMismatch {
                url: "source".into(),
                expected: desc.digest.clone(),
                actual,
            });
        }
        Ok(Bytes::from(bytes))
    }

    async fn put_manifest(
        &self,
        reference: &str,
        desc: &Descriptor,
        bytes: Bytes,
    ) -> Result<(), ClientError> {
        self.repo
            .put_manifest(reference, &desc.media_type, bytes, &desc.digest)
            .await?;
        Counters::bump(&self.report.manifests);
        Ok(())
    }

    /// Layers in parallel up to the transfer limit, then the config (registries may check
    /// that a manifest's blobs exist, never the order). Foreign layers are skipped.
    async fn push_blobs(
        &self,
        config: &Descriptor,
        layers: &[Descriptor],
    ) -> Result<(), ClientError> {
        let limit = Arc::new(Semaphore::new(
            self.repo.client.config().max_concurrent_transfers.max(1),
        ));
        let mut tasks = JoinSet::new();
        let mut seen = std::collections::HashSet::new();
        let mut config_job = None;
        let all = layers
            .iter()
            .map(|l| (l, BlobRole::Layer))
            .chain(std::iter::once((config, BlobRole::Config)));
        for (desc, role) in all {
            if desc.is_non_distributable() || !seen.insert(desc.digest.clone()) {
                continue;
            }
            let job = self.job(desc, role);
            job.tracker.report(TransferState::Waiting, 0);
            if role == BlobRole::Config {
                config_job = Some(job);
                continue;
            }
            let limit = limit.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.ok();
                job.run_reporting().await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let result = joined
                .map_err(|e| ClientError::Task {
                    detail: e.to_string(),
                })
                .and_then(|r| r);
            if let Err(e) = result {
                tasks.shutdown().await;
                return Err(e);
            }
        }
        match config_job {
            Some(job) => job.run_reporting().await,
            None => Ok(()),
        }
    }

    fn job(&self, desc: &Descriptor, role: BlobRole) -> BlobJob {
        BlobJob {
            repo: self.repo.clone(),
            source: self.source.clone(),
            mount_from: self.options.mount_from.clone(),
            report: self.report.clone(),
            desc: desc.clone(),
            tracker: Tracker {
                sink: self.options.progress.clone(),
                digest: desc.digest.clone(),
                role,
                total: desc.size,
            },
        }
    }
}

struct BlobJob {
    repo: Repository,
    source: Arc<dyn BlobSource>,
    mount_from: Option<String>,
    report: Arc<Counters>,
    desc: Descriptor,
    tracker: Tracker,
}

impl BlobJob {
    async fn run_reporting(&self) -> Result<(), ClientError> {
        let result = self.run().await;
        if result.is_err() {
            self.tracker.report(TransferState::Failed, 0);
        }
        result
    }

    async fn run(&self) -> Result<(), ClientError> {
        let digest = &self.desc.digest;
        if self.repo.has_blob(digest).await? {
            Counters::bump(&self.report.already_present);
            self.tracker
                .report(TransferState::AlreadyExists, self.desc.size);
            return Ok(());
        }
        let mut start = self.repo.url("blobs/uploads/")?;
        if let Some(from) = &self.mount_from {
            start
                .query_pairs_mut()
                .append_pair("mount", &digest.to_string())
                .append_pair("from", from);
        }
        let resp = self
            .repo
            .send(
                Method::POST,
                start.clone(),
                Vec::new(),
                Some(Bytes::new()),
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        if resp.status() == StatusCode::CREATED && self.mount_from.is_some() {
            Counters::bump(&self.report.mounted);
            self.tracker.report(TransferState::Mounted, self.desc.size);
            return Ok(());
        }
        let location = next_location(&start, &resp)?;
        // The session's latest URL: distribution refuses a DELETE carrying a stale `_state`.
        let mut latest = location.clone();
        let result = self.upload(location, &mut latest).await;
        if result.is_err() {
            // Best effort: free the registry's upload session; the upload's own error matters more.
            let cancelled = self
                .repo
                .send(
                    Method::DELETE,
                    latest,
                    Vec::new(),
                    None,
                    &[StatusCode::NO_CONTENT, StatusCode::OK, StatusCode::ACCEPTED],
                )
                .await;
            if let Err(e) = cancelled {
                tracing::debug!(digest = %digest, error = %e, "could not cancel upload session");
            }
        }
        result
    }

    /// Sends the blob's bytes to an open upload session at `location` and commits it.
    /// `latest` follows the session URL as the registry hands out new ones.
    async fn upload(&self, location: Url, latest: &mut Url) -> Result<(), ClientError> {
        let digest = &self.desc.digest;
        let chunk_size = self.repo.client.config().chunk_size.max(1);
        let mut reader = self
            .source
            .open(digest)
            .map_err(|source| ClientError::Blob {
                digest: digest.clone(),
                source,
            })?;
        self.tracker.report(TransferState::Uploading, 0);
        let mut hasher = Hasher::for_digest(digest);
        if self.desc.size <= chunk_size {
            let body = self.read_chunk(&mut reader, self.desc.size, &mut hasher)?;
            self.check_source(hasher.finish(), body.len() as u64)?;
            self.finish(location, body).await?;
            Counters::bump(&self.report.uploaded_monolithic);
        } else if self.repo.client.config().upload_mode == UploadMode::Streamed {
            let streamed =
                upload::streamed_patch(&self.repo, location, reader, &self.desc, &self.tracker)
                    .await?;
            *latest = streamed.next_location.clone();
            self.check_source(streamed.digest, streamed.size)?;
            self.finish(streamed.next_location, Bytes::new()).await?;
            Counters::bump(&self.report.uploaded_streamed);
        } else {
            self.upload_chunks(latest, &mut reader, &mut hasher, chunk_size)
                .await?;
            self.check_source(hasher.finish(), self.desc.size)?;
            self.finish(latest.clone(), Bytes::new()).await?;
            Counters::bump(&self.report.uploaded_chunked);
        }
        self.tracker.report(TransferState::Done, self.desc.size);
        Ok(())
    }

    /// PATCHes `chunk_size` pieces with `Content-Range`, leaving in `location` the URL for the
    /// final PUT.
    async fn upload_chunks(
        &self,
        location: &mut Url,
        reader: &mut Box<dyn Read + Send>,
        hasher: &mut Hasher,
        chunk_size: u64,
    ) -> Result<(), ClientError> {
        let mut offset = 0u64;
        while offset < self.desc.size {
            let want = chunk_size.min(self.desc.size - offset);
            let body = self.read_chunk(reader, want, hasher)?;
            let len = body.len() as u64;
            if len == 0 {
                // Source shorter than the descriptor: check_source reports it.
                break;
            }
            let range = format!("{}-{}", offset, offset + len - 1);
            let resp = self
                .repo
                .send(
                    Method::PATCH,
                    location.clone(),
                    vec![(CONTENT_TYPE, OCTET_STREAM.into()), (CONTENT_RANGE, range)],
                    Some(body),
                    &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
                )
                .await?;
            *location = next_location(location, &resp)?;
            offset += len;
            self.tracker.report(TransferState::Uploading, offset);
        }
        Ok(())
    }

    /// Reads up to `len` bytes (less only at end of the source), hashing them.
    fn read_chunk(
        &self,
        reader: &mut Box<dyn Read + Send>,
        len: u64,
        hasher: &mut Hasher,
    ) -> Result<Bytes, ClientError> {
        let mut buf = Vec::with_capacity(len.min(64 << 20) as usize);
        reader
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|source| ClientError::Blob {
                digest: self.desc.digest.clone(),
                source: SinkError::Io {
                    op: "read blob",
                    path: self.desc.digest.to_string().into(),
                    source,
                },
            })?;
        hasher.update(&buf);
        Ok(Bytes::from(buf))
    }

    /// The source must hold exactly the bytes the descriptor promises before we commit them.
    fn check_source(&self, actual: Digest, sent: u64) -> Result<(), ClientError> {
        if sent != self.desc.size {
            return Err(ClientError::SizeMismatch {
                url: "source".into(),
                digest: self.desc.digest.clone(),
                expected: self.desc.size,
                actual: sent,
            });
        }
        if actual != self.desc.digest {
            return Err(ClientError::DigestMismatch {
                url: "source".into(),
                expected: self.desc.digest.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// The closing `PUT <location>&digest=…`, with the last (or only) bytes.
    async fn finish(&self, mut location: Url, body: Bytes) -> Result<(), ClientError> {
        location
            .query_pairs_mut()
            .append_pair("digest", &self.desc.digest.to_string());
        self.tracker
            .report(TransferState::Verifying, self.desc.size);
        self.repo
            .send(
                Method::PUT,
                location,
                vec![(CONTENT_TYPE, OCTET_STREAM.into())],
                Some(body),
                &[
                    StatusCode::CREATED,
                    StatusCode::NO_CONTENT,
                    StatusCode::ACCEPTED,
                ],
            )
            .await?;
        Ok(())
    }
}

/// The upload URL from `Location`, resolved against the request URL (it may be relative and
/// carry its own query, e.g. distribution's `_state`).
pub(crate) fn next_location(request: &Url, resp: &Response) -> Result<Url, ClientError> {
    let raw = header_str(resp.headers(), LOCATION.as_str()).unwrap_or("");
    resolve_location(request, raw)
}

fn resolve_location(request: &Url, raw: &str) -> Result<Url, ClientError> {
    let bad = || ClientError::BadLocation {
        url: request.to_string(),
        location: raw.to_owned(),
    };
    if raw.is_empty() {
        return Err(bad());
    }
    request.join(raw).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_request_and_keep_their_query() {
        let req = Url::parse("http://reg:5000/v2/a/b/blobs/uploads/").unwrap();
        let mut rel = resolve_location(&req, "/v2/a/b/blobs/uploads/u1?_state=xyz").unwrap();
        rel.query_pairs_mut().append_pair("digest", "sha256:00");
        assert_eq!(
            rel.as_str(),
            "http://reg:5000/v2/a/b/blobs/uploads/u1?_state=xyz&digest=sha256%3A00"
        );
        let same_dir = resolve_location(&req, "u2").unwrap();
        assert_eq!(same_dir.as_str(), "http://reg:5000/v2/a/b/blobs/uploads/u2");
        let abs = resolve_location(&req, "https://upload.example/x?sig=1").unwrap();
        assert_eq!(abs.as_str(), "https://upload.example/x?sig=1");
        assert!(matches!(
            resolve_location(&req, ""),
            Err(ClientError::BadLocation { .. })
        ));
    }
}
