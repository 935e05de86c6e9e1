//! Pull: tag → manifest (choosing a platform from an index) → config and layers streamed into a
//! [`BlobSink`] in parallel, each verified by size and digest before it is committed.

use std::collections::HashSet;
use std::sync::Arc;

use berth_oci::Digest;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::download::fetch_one;
use super::error::ClientError;
use super::manifest::{self, Descriptor, Manifest, select_platform};
use super::progress::{BlobRole, Progress, Quiet, Tracker, TransferState};
use super::repo::{FetchedManifest, Repository};
use super::sink::BlobSink;
use super::transport::RegistryClient;
use berth_oci::Platform;
use berth_oci::Reference;

#[derive(Clone)]
pub struct PullOptions {
    /// Platform to pick from an index; the host's when `None`.
    pub platform: Option<Platform>,
    pub progress: Arc<dyn Progress>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            progress: Arc::new(Quiet),
        }
    }
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions")
            .field("platform", &self.platform)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct PullResult {
    /// The image manifest written to the sink and recorded as root.
    pub manifest: Descriptor,
    /// The index (manifest list) the manifest was chosen from, when the reference named one.
    pub index_digest: Option<Digest>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// Blobs downloaded vs. found already in the sink.
    pub downloaded: usize,
    pub already_present: usize,
}

/// An image manifest chosen for a reference (through an index when it names one), not yet
/// written anywhere: what [`RegistryClient::fetch_blobs`] then downloads.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The image manifest (not the index): media type, digest, size.
    pub manifest: Descriptor,
    /// Its bytes, as served.
    pub manifest_bytes: bytes::Bytes,
    /// The index (manifest list) the manifest was chosen from, when the reference named one.
    pub index_digest: Option<Digest>,
    /// What the reference points at (the index, or the manifest itself).
    pub top: Descriptor,
    /// The platforms the index offers (empty for a single manifest).
    pub platforms: Vec<Platform>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    repo: Repository,
}

impl ResolvedImage {
    /// What the reference's tag points at: the index when there is one, else the manifest.
    pub fn top_digest(&self) -> &Digest {
        &self.top.digest
    }

    /// The config blob's bytes, verified (small: refused over 16 MiB).
    pub async fn fetch_config(&self) -> Result<Vec<u8>, ClientError> {
        const LIMIT: u64 = 16 << 20;
        let desc = &self.config;
        if desc.size > LIMIT {
            return Err(ClientError::SizeMismatch {
                url: self
                    .repo
                    .url(&format!("blobs/{}", desc.digest))?
                    .to_string(),
                digest: desc.digest.clone(),
                expected: LIMIT,
                actual: desc.size,
            });
        }
        let resp = self.repo.get_blob(&desc.digest, 0).await?;
        let url = resp.url().to_string();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Request {
            method: "GET".into(),
            url: url.clone(),
            detail: super::error::error_chain(&e),
        })?;
        let mut hasher = super::verify::Hasher::for_digest(&desc.digest);
        hasher.update(&bytes);
        let actual = hasher.finish();
        if actual != desc.digest {
            return Err(ClientError::DigestMismatch {
                url,
                expected: desc.digest.clone(),
                actual,
            });
        }
        Ok(bytes.to_vec())
    }
}

impl RegistryClient {
    /// Pulls `reference` into `sink` and records the manifest as a root named `reference`.
    pub async fn pull(
        &self,
        reference: &Reference,
        sink: Arc<dyn BlobSink>,
        options: &PullOptions,
    ) -> Result<PullResult, ClientError> {
        let resolved = self.resolve(reference, options.platform.as_ref()).await?;
        let (downloaded, already_present) = self
            .fetch_blobs(&resolved, &sink, &options.progress)
            .await?;
        let descriptor = resolved.manifest.clone();
        if !sink.has_blob(&descriptor.digest)? {
            let mut writer = sink
                .begin(&descriptor.digest, descriptor.size)
                .map_err(|source| ClientError::Blob {
                    digest: descriptor.digest.clone(),
                    source,
                })?;
            writer.write(&resolved.manifest_bytes)?;
            writer.commit()?;
        }
        sink.add_root(&descriptor, &reference.to_string())?;
        Ok(PullResult {
            manifest: descriptor,
            index_digest: resolved.index_digest,
            config: resolved.config,
            layers: resolved.layers,
            downloaded,
            already_present,
        })
    }

    /// Fetches the manifest `reference` names, choosing `platform` (the host's when `None`)
    /// from an index.
    pub async fn resolve(
        &self,
        reference: &Reference,
        platform: Option<&Platform>,
    ) -> Result<ResolvedImage, ClientError> {
        let repo = Repository::new(self, reference.domain(), reference.path(), false, &[])?;
        let top = repo
            .get_manifest(&manifest_reference(reference), reference.digest())
            .await?;
        let want = || platform.cloned().unwrap_or_else(Platform::host);
        let top_descriptor = Descriptor {
            media_type: top.kind.media_type().to_owned(),
            digest: top.digest.clone(),
            size: top.bytes.len() as u64,
            platform: None,
            annotations: None,
            urls: None,
        };
        let platforms = match &top.manifest {
            Manifest::Index(index) => index
                .manifests
                .iter()
                .filter_map(|d| d.platform.clone())
                .collect(),
            Manifest::Image(_) => Vec::new(),
        };
        let (image, index_digest) = match &top.manifest {
            Manifest::Image(_) => (top, None),
            Manifest::Index(index) => {
                let wanted = want();
                let Some(chosen) = select_platform(index, &wanted) else {
                    return Err(ClientError::NoMatchingPlatform {
                        reference: reference.to_string(),
                        wanted,
                        available: index
                            .manifests
                            .iter()
                            .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
                            .collect(),
                    });
                };
                let child = repo
                    .get_manifest(&chosen.digest.to_string(), Some(&chosen.digest))
                    .await?;
                check_manifest_size(&repo, chosen, &child)?;
                let digest = top.digest.clone();
                (child, Some(digest))
            }
        };
        let Manifest::Image(parsed) = &image.manifest else {
            return Err(ClientError::NoMatchingPlatform {
                reference: reference.to_string(),
                wanted: want(),
                available: vec!["(nested index)".into()],
            });
        };
        Ok(ResolvedImage {
            manifest: Descriptor {
                media_type: image.kind.media_type().to_owned(),
                digest: image.digest.clone(),
                size: image.bytes.len() as u64,
                platform: None,
                annotations: None,
                urls: None,
            },
            config: parsed.config.clone(),
            layers: parsed.layers.clone(),
            manifest_bytes: image.bytes.clone(),
            index_digest,
            top: top_descriptor,
            platforms,
            repo,
        })
    }

    /// Downloads the config and layers of `resolved` that `sink` lacks, in parallel. Returns
    /// (downloaded, already present).
    pub async fn fetch_blobs(
        &self,
        resolved: &ResolvedImage,
        sink: &Arc<dyn BlobSink>,
        progress: &Arc<dyn Progress>,
    ) -> Result<(usize, usize), ClientError> {
        let mut blobs = vec![(resolved.config.clone(), BlobRole::Config)];
        blobs.extend(resolved.layers.iter().map(|l| (l.clone(), BlobRole::Layer)));
        fetch_all(&resolved.repo, &blobs, sink, progress).await
    }
}

/// What goes after `/manifests/`: the digest when pinned, else the tag (`latest` if none).
fn manifest_reference(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => berth_oci::reference::DEFAULT_TAG.to_owned(),
    }
}

fn check_manifest_size(
    repo: &Repository,
    wanted: &Descriptor,
    got: &FetchedManifest,
) -> Result<(), ClientError> {
    let actual = got.bytes.len() as u64;
    if actual != wanted.size {
        return Err(ClientError::SizeMismatch {
            url: repo
                .url(&format!("manifests/{}", wanted.digest))?
                .to_string(),
            digest: wanted.digest.clone(),
            expected: wanted.size,
            actual,
        });
    }
    Ok(())
}

/// Downloads every blob not already in the sink, at most `max_concurrent_transfers` at once.
/// Returns (downloaded, already present). The first failure cancels the rest.
async fn fetch_all(
    repo: &Repository,
    blobs: &[(Descriptor, BlobRole)],
    sink: &Arc<dyn BlobSink>,
    progress: &Arc<dyn Progress>,
) -> Result<(usize, usize), ClientError> {
    let limit = Arc::new(Semaphore::new(
        repo.client.config().max_concurrent_transfers.max(1),
    ));
    let mut seen = HashSet::new();
    let mut tasks = JoinSet::new();
    for (desc, role) in blobs {
        if !seen.insert(desc.digest.clone()) {
            continue;
        }
        let tracker = Tracker {
            sink: progress.clone(),
            digest: desc.digest.clone(),
            role: *role,
            total: desc.size,
        };
        tracker.report(TransferState::Waiting, 0);
        let (repo, sink, limit, desc) = (repo.clone(), sink.clone(), limit.clone(), desc.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.ok();
            let result = fetch_one(&repo, &desc, sink.as_ref(), &tracker).await;
            if result.is_err() {
                tracker.report(TransferState::Failed, 0);
            }
            result
        });
    }
    let (mut downloaded, mut present) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .map_err(|e| ClientError::Task {
                detail: e.to_string(),
            })
            .and_then(|r| r);
        let fetched = match result {
            Ok(fetched) => fetched,
            Err(e) => {
                // Wait for the cancelled downloads to drop their writers (discarding partial
                // blobs) before reporting: no temp file outlives the pull.
                tasks.shutdown().await;
                return Err(e);
            }
        };
        if fetched {
            downloaded += 1;
        } else {
            present += 1;
        }
    }
    Ok((downloaded, present))
}

/// Parses a manifest the caller already holds (e.g. from a layout) — shared with push.
pub(crate) fn parse_held(
    media_type: &str,
    bytes: &[u8],
    digest: &Digest,
) -> Result<Manifest, ClientError> {
    manifest::parse(Some(media_type), bytes)
        .map(|(_, m)| m)
        .map_err(|source| ClientError::Manifest {
            url: digest.to_string(),
            source,
        })
}
