//! The store facade the daemon uses: content + snapshots + image records under one root, and
//! the operations that span them (load, import, save, unpack, remove, garbage collection).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use berth_oci::{Digest, media_type};
use serde_json::json;

use crate::archive::{self, ArchiveError, ArchiveFormat};
use crate::content::{ContentError, ContentStore, PendingBlob};
use crate::image_plan::{ImagePlan, PlannedLayer};
use crate::images::{
    ImageError, ImageRecord, ImageStore, ImageUsers, LayerRef, RemoveOutcome, time,
};
use crate::snapshot::{Driver, Mount, SnapshotError, Snapshotter, chain_id};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("store root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a garbage collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub blobs_removed: Vec<Digest>,
    pub bytes_freed: u64,
    pub layers_removed: Vec<Digest>,
    pub temp_files_removed: usize,
}

/// See [`Store::lease`].
pub struct ContentLease<'a> {
    _guard: RwLockReadGuard<'a, ()>,
}

pub struct Store {
    root: PathBuf,
    pub content: ContentStore,
    pub snapshots: Snapshotter,
    pub images: ImageStore,
    /// Writers of new content hold it shared; garbage collection holds it exclusively, so it
    /// never sweeps a blob that is ingested but not yet recorded.
    gc_lock: RwLock<()>,
}

impl Store {
    /// Opens (creating) a store at `root`; leftovers of a crash are cleaned here.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(root).map_err(|source| StoreError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Store {
            root: root.to_path_buf(),
            content: ContentStore::open(root)?,
            snapshots: Snapshotter::open(root)?,
            images: ImageStore::open(root)?,
            gc_lock: RwLock::new(()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn writing(&self) -> RwLockReadGuard<'_, ()> {
        self.gc_lock.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps garbage collection away while the holder ingests blobs and then registers the
    /// image that references them (e.g. a registry pull). Hold one lease per operation; do not
    /// nest leases in one thread (a waiting collector would deadlock them).
    /// Makes everything written to the store so far durable with one filesystem sync, then
    /// publishes `blobs` (see [`crate::content::BlobWriter::commit_deferred`]). Layers from
    /// [`crate::snapshot::Snapshotter::unpack_pending`] finished before this call may be
    /// recorded after it.
    pub fn sync_and_publish(&self, blobs: Vec<PendingBlob>) -> Result<(), StoreError> {
        crate::fsutil::sync_filesystem(&self.root).map_err(|source| StoreError::Root {
            path: self.root.clone(),
            source,
        })?;
        Ok(self.content.publish(blobs)?)
    }

    /// Makes a build's deferred writes durable with one filesystem sync: publishes `blobs`
    /// and saves the layers recorded without a sync before this call (after the snapshot
    /// removals running in the background are done).
    pub fn sync_pending(&self, blobs: Vec<PendingBlob>) -> Result<(), StoreError> {
        self.snapshots.settle();
        let layers = self.snapshots.not_durable();
        if blobs.is_empty() && layers.is_empty() {
            return Ok(());
        }
        self.sync_and_publish(blobs)?;
        Ok(self.snapshots.mark_durable(&layers)?)
    }

    /// Syncs the store's filesystem in rounds until the guard is dropped, so a final
    /// [`Store::sync_and_publish`] after a large write finds little left to do.
    pub fn background_sync(&self) -> crate::BackgroundSync {
        crate::BackgroundSync::start(&self.root)
    }

    pub fn lease(&self) -> ContentLease<'_> {
        ContentLease {
            _guard: self.writing(),
        }
    }

    /// `docker load`: reads a docker-save or OCI archive (optionally gzip'd), unpacks every
    /// image's layers and records its tags.
    pub fn load_archive(&self, reader: impl Read) -> Result<Vec<ImageRecord>, StoreError> {
        self.load_with(|added| archive::read_archive(reader, &self.content, added))
    }

    /// Loads an OCI image layout directory (oci-layout, index.json, blobs/).
    pub fn load_layout_dir(&self, dir: &Path) -> Result<Vec<ImageRecord>, StoreError> {
        self.load_with(|added| archive::read_layout_dir(dir, &self.content, added))
    }

    fn load_with(
        &self,
        read: impl FnOnce(&mut Vec<Digest>) -> Result<Vec<ImagePlan>, ArchiveError>,
    ) -> Result<Vec<ImageRecord>, StoreError> {
        let _guard = self.writing();
        let mut added = Vec::new();
        let result = read(&mut added)
            .map_err(StoreError::from)
            .and_then(|plans| plans.into_iter().map(|plan| self.register(plan)).collect());
        if result.is_err() {
            self.forget_unreferenced(&added);
        }
        result
    }

    /// After a failed load or import: removes the blobs it added that no image references.
    fn forget_unreferenced(&self, added: &[Digest]) {
        let referenced: HashSet<Digest> = self
            .images
            .list()
            .iter()
            .flat_map(|i| i.blobs().cloned())
            .collect();
        for digest in added.iter().filter(|d| !referenced.contains(*d)) {
            if let Err(e) = self.content.delete(digest) {
                tracing::warn!(%digest, error = %e, "could not remove blob of a failed load");
            }
        }
    }

    /// Unpacks a plan's layers (verifying each diffID) and writes its image record. Callers
    /// that ingested the plan's blobs themselves should hold a [`Store::lease`] across both.
    pub fn register(&self, plan: ImagePlan) -> Result<ImageRecord, StoreError> {
        let mut parent: Option<Digest> = None;
        for layer in &plan.layers {
            let chain = chain_id(parent.as_ref(), &layer.diff_id);
            if !self.snapshots.has_layer(&chain) {
                let blob = self.content.open_blob(&layer.digest)?;
                self.snapshots
                    .apply_layer(parent.as_ref(), Some(&layer.diff_id), blob)?;
            }
            parent = Some(chain);
        }
        let (manifest, manifest_media_type) = match plan.manifest {
            Some(m) => m,
            None => (
                self.write_manifest(&plan)?,
                media_type::OCI_MANIFEST.to_owned(),
            ),
        };
        let record = ImageRecord {
            id: plan.config,
            manifest,
            manifest_media_type,
            layers: plan
                .layers
                .into_iter()
                .map(|l| LayerRef {
                    digest: l.digest,
                    media_type: l.media_type,
                    size: l.size,
                    diff_id: l.diff_id,
                })
                .collect(),
            chain_id: parent,
            repo_tags: plan.tags,
            repo_digests: Vec::new(),
            last_tag_time: None,
        };
        Ok(self.images.put(record)?)
    }

    fn write_manifest(&self, plan: &ImagePlan) -> Result<Digest, StoreError> {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "config": {"mediaType": media_type::OCI_CONFIG, "digest": plan.config, "size": plan.config_bytes.len()},
            "layers": plan.layers.iter().map(|l| json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        Ok(self.content.ingest_bytes(&bytes)?)
    }

    /// `docker import`: a rootfs tar (optionally compressed) becomes a one-layer image.
    pub fn import_rootfs(
        &self,
        reader: impl Read,
        tag: Option<&str>,
    ) -> Result<ImageRecord, StoreError> {
        self.import_rootfs_with(reader, tag, json!({}), "Imported from -")
    }

    /// `docker import --change … --message …`: as [`Store::import_rootfs`], with the image
    /// config's `config` section (Cmd, Env, …) and the history comment given.
    pub fn import_rootfs_with(
        &self,
        reader: impl Read,
        tag: Option<&str>,
        container_config: serde_json::Value,
        comment: &str,
    ) -> Result<ImageRecord, StoreError> {
        let _guard = self.writing();
        let (blob, size) = self.content.ingest_unverified(reader)?;
        let chain = match self
            .content
            .open_blob(&blob)
            .map_err(StoreError::from)
            .and_then(|file| {
                self.snapshots
                    .apply_layer(None, None, file)
                    .map_err(StoreError::from)
            }) {
            Ok(chain) => chain,
            Err(e) => {
                self.forget_unreferenced(std::slice::from_ref(&blob));
                return Err(e);
            }
        };
        // A single layer's chain ID is its diffID.
        let diff_id = chain;
        let now = time::format_rfc3339(time::now_unix() as i64);
        let config = json!({
            "architecture": archive::host_architecture(),
            "os": "linux",
            "created": now,
            "config": container_config,
            "comment": comment,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": now, "comment": comment}],
        });
        let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
        let config_digest = self.content.ingest_bytes(&config_bytes)?;
        let mut head = [0u8; 4];
        let n = self.content.open_blob(&blob)?.read(&mut head).unwrap_or(0);
        let layer_type = match &head[..n] {
            [0x1f, 0x8b, ..] => media_type::OCI_LAYER_GZIP,
            [0x28, 0xb5, 0x2f, 0xfd] => media_type::OCI_LAYER_ZSTD,
            _ => media_type::OCI_LAYER_TAR,
        };
        let tags = match tag {
            Some(t) => vec![berth_oci::Reference::parse_normalized(t).map_err(|source| {
                ImageError::BadReference {
                    name: t.to_owned(),
                    source,
                }
            })?],
            None => Vec::new(),
        };
        let plan = ImagePlan {
            config: config_digest,
            config_bytes,
            layers: vec![PlannedLayer {
                digest: blob,
                media_type: layer_type.to_owned(),
                size,
                diff_id,
            }],
            tags,
            manifest: None,
        };
        self.register(plan)
    }

    /// `docker save`: the named images (tags or IDs) as an archive.
    pub fn save_archive<W: Write>(
        &self,
        names: &[&str],
        format: ArchiveFormat,
        out: W,
    ) -> Result<W, StoreError> {
        let mut images = Vec::new();
        for name in names {
            let mut record = self.images.resolve(name)?;
            // Saving by tag saves only that tag, like Docker.
            if let Ok(reference) = berth_oci::Reference::parse_normalized(name)
                && record.repo_tags.contains(&reference)
            {
                record.repo_tags = vec![reference];
            }
            images.push(record);
        }
        Ok(archive::save_archive(&images, format, &self.content, out)?)
    }

    /// Creates container snapshot `key` on top of image `image` and returns its mount.
    pub fn prepare_container(
        &self,
        key: &str,
        image: &str,
        driver: Driver,
    ) -> Result<Mount, StoreError> {
        let record = self.images.resolve(image)?;
        Ok(self
            .snapshots
            .prepare(key, record.chain_id.as_ref(), driver)?)
    }

    /// `docker rmi`, then removal of whatever the deleted image alone held.
    pub fn remove_image(
        &self,
        name: &str,
        force: bool,
        users: &dyn ImageUsers,
    ) -> Result<RemoveOutcome, StoreError> {
        let outcome = self.images.remove(name, force, users)?;
        if outcome.deleted.is_some() {
            self.gc()?;
        }
        Ok(outcome)
    }

    /// `docker image prune [-a]`.
    pub fn prune_images(
        &self,
        all: bool,
        users: &dyn ImageUsers,
    ) -> Result<(Vec<RemoveOutcome>, GcReport), StoreError> {
        let outcomes = self.images.prune(all, users)?;
        let report = self.gc()?;
        Ok((outcomes, report))
    }

    /// Mark from image records (manifests, configs, layer blobs, top chain IDs), container
    /// snapshots and extra roots; sweep unreferenced layer snapshots, blobs and stale temp files.
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        let _exclusive = self.gc_lock.write().unwrap_or_else(|p| p.into_inner());
        let images = self.images.list();
        let mut keep_blobs: HashSet<Digest> =
            images.iter().flat_map(|i| i.blobs().cloned()).collect();
        let mut keep_layers: HashSet<Digest> =
            images.iter().filter_map(|i| i.chain_id.clone()).collect();
        // What other parts (the build cache) still need: see gc_roots.rs.
        let extra = self.roots_for_gc()?;
        keep_blobs.extend(extra.blobs);
        keep_layers.extend(extra.layers);
        let layers_removed = self.snapshots.prune_layers(&keep_layers)?;
        let sweep = self.content.sweep(&keep_blobs)?;
        Ok(GcReport {
            blobs_removed: sweep.removed,
            bytes_freed: sweep.bytes_freed,
            layers_removed,
            temp_files_removed: sweep.temp_files_removed,
        })
    }
}
