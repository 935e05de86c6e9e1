//! `docker pull`: the manifest is resolved first (so a missing image is a clean HTTP error),
//! then blobs download in parallel straight into the content store, each layer unpacked by
//! its own thread while it streams in (see `super::sink`). When all are there, one
//! filesystem sync makes blobs and layers durable, the layers are recorded in order and the
//! image registered. The coordinating thread holds a [`berth_store::Store::lease`] for the
//! whole pull, so garbage collection never sweeps a blob that is downloaded but not recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use berth_oci::{Digest, Platform, Reference};
use berth_registry::client::{BlobSink, Progress, RegistryClient, ResolvedImage};
use berth_store::images::ImageRecord;
use berth_store::snapshot::chain_id;
use berth_store::{ImagePlan, PlannedLayer};
use serde_json::Value;

use super::progress::{DockerProgress, ProgressFn, ProgressMessage, short_id};
use super::sink::{StoreSink, StreamedLayer};
use super::{ImageError, MAX_CONFIG, publish};
use crate::Engine;

/// What the unpacking thread hears about.
pub(crate) enum Unpack {
    /// A blob is now in the content store.
    Committed(Digest),
    /// A layer blob is downloaded and verified (not yet published), and unpacked or being so.
    Layer(Box<StreamedLayer>),
    /// Every blob is downloaded.
    Downloaded,
}

/// Fetches the manifest `reference` names (choosing `platform` from an index).
pub async fn resolve(
    client: &RegistryClient,
    reference: &Reference,
    platform: Option<&Platform>,
) -> Result<ResolvedImage, ImageError> {
    client
        .resolve(reference, platform)
        .await
        .map_err(|e| registry_error(reference, e))
}

fn registry_error(reference: &Reference, e: berth_registry::client::ClientError) -> ImageError {
    use berth_registry::client::ClientError;
    use berth_registry::client::error::describe_registry_errors;
    if let ClientError::Status {
        status,
        errors,
        body,
        ..
    } = &e
        && status.as_u16() == 404
    {
        return ImageError::ManifestNotFound {
            reference: reference.familiar_string(),
            detail: describe_registry_errors(errors, body),
        };
    }
    ImageError::Registry {
        reference: reference.familiar_string(),
        source: Box::new(e),
    }
}

/// A pull in progress: its unpacking thread runs from [`PullJob::start`] to [`PullJob::finish`].
pub struct PullJob {
    engine: Arc<Engine>,
    reference: Reference,
    resolved: ResolvedImage,
    progress: ProgressFn,
    events: Sender<Unpack>,
    unpacker: JoinHandle<Result<ImageRecord, ImageError>>,
    /// The reference already named this image before the pull.
    up_to_date: bool,
}

impl PullJob {
    /// Announces the pull and starts the unpacking thread; blocks until it holds the lease.
    pub fn start(
        engine: Arc<Engine>,
        reference: Reference,
        resolved: ResolvedImage,
        progress: ProgressFn,
    ) -> Result<PullJob, ImageError> {
        let up_to_date = engine
            .store
            .images
            .resolve(&reference.to_string())
            .is_ok_and(|r| r.id == resolved.config.digest);
        let opening = match (reference.digest(), reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_owned(),
            (None, None) => berth_oci::reference::DEFAULT_TAG.to_owned(),
        };
        progress(ProgressMessage::layer(
            opening,
            format!("Pulling from {}", reference.path()),
        ));
        let (events, inbox) = channel();
        let (ready_tx, ready) = channel();
        let unpacker = {
            let (engine, reference, resolved, progress) = (
                engine.clone(),
                reference.clone(),
                resolved.clone(),
                progress.clone(),
            );
            std::thread::Builder::new()
                .name("pull-unpack".to_owned())
                .spawn(move || {
                    let store = engine.store.clone();
                    let _lease = store.lease();
                    let _ = ready_tx.send(());
                    unpack(&engine, &reference, &resolved, &inbox, &progress)
                })
                .map_err(|e| ImageError::Interrupted {
                    what: "pull",
                    detail: format!("starting the unpacking thread: {e}"),
                })?
        };
        // The thread sends before anything else; an error there is a panic, seen at join.
        let _ = ready.recv();
        Ok(PullJob {
            engine,
            reference,
            resolved,
            progress,
            events,
            unpacker,
            up_to_date,
        })
    }

    /// Downloads every blob the store lacks, in parallel.
    pub async fn download(&self, client: &RegistryClient) -> Result<(), ImageError> {
        let sink: Arc<dyn BlobSink> = Arc::new(StoreSink {
            store: self.engine.store.clone(),
            committed: self.events.clone(),
            layers: self
                .resolved
                .layers
                .iter()
                .map(|l| l.digest.clone())
                .collect(),
        });
        let progress: Arc<dyn Progress> = Arc::new(DockerProgress {
            out: self.progress.clone(),
            pushing: false,
        });
        client
            .fetch_blobs(&self.resolved, &sink, &progress)
            .await
            .map(|_| ())
            .map_err(|e| registry_error(&self.reference, e))
    }

    /// Waits for the unpacking thread (told whether the download succeeded) and reports
    /// Docker's closing lines. Returns the image ID.
    pub fn finish(self, downloaded: Result<(), ImageError>) -> Result<String, ImageError> {
        let progress = self.progress.clone();
        let familiar = self.reference.familiar_string();
        let pulled = self.finish_tag(downloaded)?;
        progress(status_line(&familiar, pulled.up_to_date));
        Ok(pulled.id)
    }

    /// As [`PullJob::finish`] but without the `Status:` line: one tag of a `pull -a`, whose
    /// status line names the repository once at the end.
    pub fn finish_tag(self, downloaded: Result<(), ImageError>) -> Result<PulledTag, ImageError> {
        if downloaded.is_ok() {
            let _ = self.events.send(Unpack::Downloaded);
        }
        drop(self.events);
        let unpacked = self.unpacker.join().map_err(|_| ImageError::Interrupted {
            what: "pull",
            detail: "the unpacking thread panicked".to_owned(),
        });
        downloaded?;
        let record = unpacked??;
        let familiar = self.reference.familiar_string();
        (self.progress)(ProgressMessage::line(format!(
            "Digest: {}",
            self.resolved.top_digest()
        )));
        publish(
            &self.engine,
            "pull",
            &familiar,
            &self.reference.familiar_name(),
        );
        Ok(PulledTag {
            id: record.id.to_string(),
            up_to_date: self.up_to_date,
        })
    }
}

/// One pulled tag: its image ID and whether the tag already named that image.
#[derive(Debug, Clone)]
pub struct PulledTag {
    pub id: String,
    pub up_to_date: bool,
}

/// Docker's closing line of a pull; `familiar` is `busybox:latest`, or `busybox` after `pull -a`
/// (up to date only when every tag was).
pub fn status_line(familiar: &str, up_to_date: bool) -> ProgressMessage {
    ProgressMessage::line(if up_to_date {
        format!("Status: Image is up to date for {familiar}")
    } else {
        format!("Status: Downloaded newer image for {familiar}")
    })
}

/// The tags `pull -a` fetches: every tag of the repository `reference` names.
pub async fn all_tags(
    client: &RegistryClient,
    reference: &Reference,
) -> Result<Vec<Reference>, ImageError> {
    let tags = client
        .list_tags(reference.domain(), reference.path())
        .await
        .map_err(|e| registry_error(reference, e))?;
    if tags.is_empty() {
        return Err(ImageError::ManifestNotFound {
            reference: reference.familiar_name(),
            detail: "the repository has no tags".to_owned(),
        });
    }
    tags.iter()
        .map(|tag| {
            reference
                .with_tag(tag)
                .map_err(|source| ImageError::BadReference {
                    name: format!("{}:{tag}", reference.familiar_name()),
                    source,
                })
        })
        .collect()
}

/// Waits for the download, makes what it brought durable, records the layers bottom-up and
/// registers the image.
fn unpack(
    engine: &Engine,
    reference: &Reference,
    resolved: &ResolvedImage,
    inbox: &Receiver<Unpack>,
    progress: &ProgressFn,
) -> Result<ImageRecord, ImageError> {
    let store = &engine.store;
    let flushing = store.background_sync();
    let streamed = receive(inbox)?;
    let downloaded = std::time::Instant::now();
    let (blobs, mut unpacked) = join_unpacking(streamed)?;
    drop(flushing);
    let store_err = |e: berth_store::StoreError| ImageError::Store(e);
    let diff_ids = config_diff_ids(engine, resolved)?;
    let joined = downloaded.elapsed();
    if !blobs.is_empty() {
        store.sync_and_publish(blobs).map_err(store_err)?;
    }
    tracing::debug!(
        unpacking_after_download = ?joined,
        sync = ?downloaded.elapsed() - joined,
        "pull: layers unpacked and made durable"
    );
    let mut parent: Option<Digest> = None;
    for (layer, diff_id) in resolved.layers.iter().zip(&diff_ids) {
        let chain = chain_id(parent.as_ref(), diff_id);
        if !store.snapshots.has_layer(&chain) {
            let id = short_id(&layer.digest);
            progress(ProgressMessage {
                detail: Some((0, layer.size)),
                ..ProgressMessage::layer(&id, "Extracting")
            });
            match unpacked.remove(&layer.digest) {
                Some(pending) => {
                    store
                        .snapshots
                        .record_pending(parent.as_ref(), diff_id, pending)
                        .map_err(|e| ImageError::Store(e.into()))?;
                }
                // Its blob was in the store already, or an image repeats a layer blob.
                None => extract_stored(engine, parent.as_ref(), diff_id, layer, &id, progress)?,
            }
            progress(ProgressMessage::layer(&id, "Pull complete"));
        }
        parent = Some(chain);
    }
    register(engine, reference, resolved, diff_ids)
}

/// Collects what the download hands over until it says it is done.
fn receive(inbox: &Receiver<Unpack>) -> Result<Vec<(Digest, StreamedLayer)>, ImageError> {
    let mut streamed = Vec::new();
    loop {
        match inbox.recv() {
            Ok(Unpack::Committed(digest)) => tracing::trace!(%digest, "blob committed"),
            Ok(Unpack::Layer(layer)) => {
                let layer = *layer;
                streamed.push((layer.blob.digest().clone(), layer));
            }
            Ok(Unpack::Downloaded) => return Ok(streamed),
            Err(_) => {
                // Wait for the layers that did arrive, so nothing their threads made outlives
                // the pull (dropping what they return removes it).
                join_unpacking(streamed).ok();
                return Err(ImageError::Interrupted {
                    what: "pull",
                    detail: "the download did not complete".to_owned(),
                });
            }
        }
    }
}

/// Waits for every layer's unpacking thread. On failure the rest are still joined, and
/// everything they made is removed as it is dropped.
#[allow(clippy::type_complexity)]
fn join_unpacking(
    streamed: Vec<(Digest, StreamedLayer)>,
) -> Result<
    (
        Vec<berth_store::content::PendingBlob>,
        HashMap<Digest, berth_store::snapshot::PendingLayer>,
    ),
    ImageError,
> {
    let mut blobs = Vec::new();
    let mut layers = HashMap::new();
    let mut failure = None;
    for (digest, StreamedLayer { blob, unpacked }) in streamed {
        blobs.push(blob);
        match unpacked.join() {
            Ok(Ok(layer)) => {
                layers.insert(digest, layer);
            }
            Ok(Err(e)) => failure = failure.or(Some(ImageError::Store(e.into()))),
            Err(_) => {
                failure = failure.or(Some(ImageError::Interrupted {
                    what: "pull",
                    detail: format!("the thread unpacking {digest} panicked"),
                }))
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((blobs, layers)),
    }
}

/// Unpacks a layer from its blob in the content store (the download did not stream it).
fn extract_stored(
    engine: &Engine,
    parent: Option<&Digest>,
    diff_id: &Digest,
    layer: &berth_registry::client::Descriptor,
    id: &str,
    progress: &ProgressFn,
) -> Result<(), ImageError> {
    let store = &engine.store;
    let blob = store
        .content
        .open_blob(&layer.digest)
        .map_err(|e| ImageError::Store(e.into()))?;
    let reader = ExtractProgress {
        inner: blob,
        done: 0,
        reported: 0,
        total: layer.size,
        id,
        progress,
    };
    store
        .snapshots
        .apply_layer(parent, Some(diff_id), reader)
        .map_err(|e| ImageError::Store(e.into()))?;
    Ok(())
}

/// Reports `Extracting` progress (bytes of the stored blob read) every few MiB.
struct ExtractProgress<'a, R> {
    inner: R,
    done: u64,
    reported: u64,
    total: u64,
    id: &'a str,
    progress: &'a ProgressFn,
}

const EXTRACT_STEP: u64 = 4 << 20;

impl<R: std::io::Read> std::io::Read for ExtractProgress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.reported >= EXTRACT_STEP {
            self.reported = self.done;
            (self.progress)(ProgressMessage {
                detail: Some((self.done.min(self.total), self.total)),
                ..ProgressMessage::layer(self.id, "Extracting")
            });
        }
        Ok(n)
    }
}

fn config_diff_ids(engine: &Engine, resolved: &ResolvedImage) -> Result<Vec<Digest>, ImageError> {
    let id = &resolved.config.digest;
    let bytes = engine
        .store
        .content
        .read_small(id, MAX_CONFIG)
        .map_err(|e| ImageError::Store(e.into()))?;
    let config: Value = serde_json::from_slice(&bytes).map_err(|source| ImageError::BadConfig {
        id: id.to_string(),
        source,
    })?;
    let ids: Vec<Digest> = config
        .pointer("/rootfs/diff_ids")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if ids.len() != resolved.layers.len() {
        return Err(ImageError::Store(
            berth_store::archive::ArchiveError::LayerCountMismatch {
                config: id.clone(),
                layers: resolved.layers.len(),
                diff_ids: ids.len(),
            }
            .into(),
        ));
    }
    Ok(ids)
}

/// Writes the manifest blob and the image record, tagged (unless pulled by digest) and with
/// its repository digest.
fn register(
    engine: &Engine,
    reference: &Reference,
    resolved: &ResolvedImage,
    diff_ids: Vec<Digest>,
) -> Result<ImageRecord, ImageError> {
    let store = &engine.store;
    let to_err = |e: berth_store::ContentError| ImageError::Store(e.into());
    store
        .content
        .ingest(
            &resolved.manifest_bytes[..],
            &resolved.manifest.digest,
            Some(resolved.manifest.size),
        )
        .map_err(to_err)?;
    let config_bytes = store
        .content
        .read_small(&resolved.config.digest, MAX_CONFIG)
        .map_err(to_err)?;
    let tags = if reference.digest().is_none() {
        vec![reference.clone()]
    } else {
        Vec::new()
    };
    let plan = ImagePlan {
        config: resolved.config.digest.clone(),
        config_bytes,
        layers: resolved
            .layers
            .iter()
            .zip(diff_ids)
            .map(|(l, diff_id)| PlannedLayer {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                size: l.size,
                diff_id,
            })
            .collect(),
        tags,
        manifest: Some((
            resolved.manifest.digest.clone(),
            resolved.manifest.media_type.clone(),
        )),
    };
    let mut record = store.register(plan)?;
    let digest_ref = reference
        .without_suffix()
        .with_digest(resolved.top_digest().clone());
    if !record.repo_digests.contains(&digest_ref) {
        record.repo_digests.push(digest_ref);
        record = store
            .images
            .put(record)
            .map_err(|e| ImageError::Store(e.into()))?;
    }
    Ok(record)
}
