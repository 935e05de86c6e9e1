//! Snapshots: each unpacked layer lives once in `snapshots/<n>/fs`, keyed by its chain ID, in
//! overlay format (whiteouts as 0:0 char devices, opaque dirs as `trusted.overlay.opaque=y`), so
//! it is usable directly as an overlay lowerdir. Numeric directory names keep the overlay
//! option string short (about 30 bytes per layer under `/var/lib/berth`).
//!
//! Container snapshots get `snapshots/<n>/{fs,work}`: overlay upper + work dirs, or (copy
//! driver) `fs` holds a full flattened copy and is bind-mounted.
//!
//! Crash safety: a directory is created first and recorded (layers in `index.json`, container
//! snapshots in their own `active.json`) only once complete; on open, every directory nothing
//! records is removed.

mod active;
mod commit;
mod container;
mod copy;
mod index;
mod mount;
mod pending;
mod share;

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_oci::Digest;

pub use index::{ActiveRecord, Driver, Index, LayerRecord, chain_id, chain_ids};
pub use mount::{MAX_MOUNT_DATA, Mount, MountGuard, overlay_supported, unmount};
pub use pending::PendingLayer;

use crate::fsutil;
use crate::layer::{self, LayerError};

const INDEX_FILE: &str = "index.json";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot store {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot index {path} is corrupt: {source}")]
    CorruptIndex {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("applying layer {diff_id} onto {parent}: {source}", diff_id = expected.as_ref().map_or("(unknown diffID)".to_owned(), ToString::to_string), parent = parent.as_ref().map_or("(base)".to_owned(), ToString::to_string))]
    Apply {
        expected: Option<Digest>,
        parent: Option<Digest>,
        source: Box<LayerError>,
    },
    #[error(
        "layer diffID mismatch: the image config says {expected}, the layer content hashes to {actual}"
    )]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error("parent snapshot {chain_id} does not exist")]
    ParentMissing { chain_id: Digest },
    #[error("layer snapshot {chain_id} does not exist")]
    LayerMissing { chain_id: Digest },
    #[error("container snapshot {key:?} already exists")]
    KeyExists { key: String },
    #[error("container snapshot {key:?} does not exist")]
    KeyMissing { key: String },
    #[error("layer snapshot {chain_id} is in use by a child layer or container snapshot")]
    InUse { chain_id: Digest },
    #[error(
        "overlay mount options are {len} bytes, over the {MAX_MOUNT_DATA}-byte page limit ({layers} layers)"
    )]
    OptionsTooLong { len: usize, layers: usize },
    #[error("snapshot path {path} contains ':' or ',' which overlay mount options cannot express")]
    UnsafeOverlayPath { path: PathBuf },
    #[error("container snapshot {key:?} is not an overlay snapshot, so it cannot become a layer")]
    NotOverlay { key: String },
    #[error("overlayfs is not available on this kernel; choose the copy driver")]
    OverlayUnavailable,
    #[error("copying layers into container snapshot {key:?}: {source}")]
    Copy { key: String, source: io::Error },
}

pub struct Snapshotter {
    root: PathBuf,
    index: Mutex<Index>,
    /// Directories being removed by other threads (`remove_in_background`).
    removing: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Snapshotter {
    /// Opens `<root>/snapshots`, discarding whatever a crash left half-made.
    pub fn open(store_root: &Path) -> Result<Snapshotter, SnapshotError> {
        let root = store_root.join("snapshots");
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Io { path, source }
        };
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        fsutil::remove_temp_entries(&root).map_err(io_err(&root))?;
        let index_path = root.join(INDEX_FILE);
        let mut index: Index = match fs::read(&index_path) {
            Ok(data) => {
                serde_json::from_slice(&data).map_err(|source| SnapshotError::CorruptIndex {
                    path: index_path.clone(),
                    source,
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Index::default(),
            Err(e) => return Err(io_err(&index_path)(e)),
        };
        // Container snapshots recorded in the index by an older Berth move to their directories.
        let legacy = std::mem::take(&mut index.active);
        for (key, record) in &legacy {
            let dir = root.join(record.id.to_string());
            active::write(&dir, key, record).map_err(io_err(&dir))?;
        }
        index.active = active::load_all(&root).map_err(io_err(&root))?;
        // A container snapshot on a layer a crash took (one recorded without a sync, see
        // `commit_active`) has lost its lower layers: it goes too.
        let orphans: Vec<String> = index
            .active
            .iter()
            .filter(|(_, a)| {
                a.parent
                    .as_ref()
                    .is_some_and(|p| !index.layers.contains_key(p))
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in orphans {
            if let Some(record) = index.active.remove(&key) {
                let dir = root.join(record.id.to_string());
                tracing::info!(key, dir = %dir.display(), "removing a container snapshot whose parent layer is gone");
                active::unlink(&dir).map_err(io_err(&dir))?;
            }
        }
        // Container snapshot IDs are not saved in the index: never hand out one in use.
        let highest = index.active.values().map(|a| a.id).max().unwrap_or(0);
        index.next_id = index.next_id.max(highest);
        let known: HashSet<u64> = index
            .layers
            .values()
            .map(|l| l.id)
            .chain(index.active.values().map(|a| a.id))
            .collect();
        for entry in fs::read_dir(&root).map_err(io_err(&root))? {
            let entry = entry.map_err(io_err(&root))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            if !known.contains(&id) {
                tracing::info!(dir = %entry.path().display(), "removing incomplete snapshot left by a crash");
                fsutil::remove_any(&entry.path()).map_err(io_err(&entry.path()))?;
            }
        }
        let snapshotter = Snapshotter {
            root,
            index: Mutex::new(index),
            removing: Mutex::new(Vec::new()),
        };
        if !legacy.is_empty() {
            snapshotter.save(&snapshotter.lock())?;
        }
        Ok(snapshotter)
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Container snapshot `key`'s record in `index`.
    fn active_record(index: &Index, key: &str) -> Result<ActiveRecord, SnapshotError> {
        index
            .active
            .get(key)
            .cloned()
            .ok_or_else(|| SnapshotError::KeyMissing {
                key: key.to_owned(),
            })
    }

    fn dir(&self, id: u64) -> PathBuf {
        self.root.join(id.to_string())
    }

    /// The directory holding layer or container snapshot `id`'s files.
    pub fn fs_dir(&self, id: u64) -> PathBuf {
        self.dir(id).join("fs")
    }

    fn save(&self, index: &Index) -> Result<(), SnapshotError> {
        let path = self.root.join(INDEX_FILE);
        let data = serde_json::to_vec_pretty(&index.durable()).map_err(|source| {
            SnapshotError::CorruptIndex {
                path: path.clone(),
                source,
            }
        })?;
        fsutil::atomic_write(&path, &data).map_err(|source| SnapshotError::Io { path, source })
    }

    /// Refuses a layer on a `parent` that is not recorded.
    fn require_parent(index: &Index, parent: Option<&Digest>) -> Result<(), SnapshotError> {
        match parent {
            Some(parent) if !index.layers.contains_key(parent) => {
                Err(SnapshotError::ParentMissing {
                    chain_id: parent.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Records layer `chain` and saves the index; when saving fails the record is taken back.
    fn insert_layer(
        &self,
        index: &mut Index,
        chain: &Digest,
        record: LayerRecord,
    ) -> Result<(), SnapshotError> {
        index.layers.insert(chain.clone(), record);
        let saved = self.save(index);
        if saved.is_err() {
            index.layers.remove(chain);
        }
        saved
    }

    /// A copy of the current records.
    pub fn index(&self) -> Index {
        self.lock().clone()
    }

    pub fn has_layer(&self, chain_id: &Digest) -> bool {
        self.lock().layers.contains_key(chain_id)
    }

    /// Unpacks a layer on top of `parent` (a chain ID) and records it under its chain ID.
    /// With `expected_diff_id`, content hashing to anything else is refused and nothing is kept.
    /// If the snapshot already exists the stream is not read.
    pub fn apply_layer(
        &self,
        parent: Option<&Digest>,
        expected_diff_id: Option<&Digest>,
        stream: impl Read + Send,
    ) -> Result<Digest, SnapshotError> {
        let id = {
            let mut index = self.lock();
            Snapshotter::require_parent(&index, parent)?;
            if let Some(diff_id) = expected_diff_id {
                let chain = chain_id(parent, diff_id);
                if index.layers.contains_key(&chain) {
                    return Ok(chain);
                }
            }
            index.allocate_id()
        };
        let dir = self.dir(id);
        let result = self.unpack_into(&dir, parent, expected_diff_id, stream, true);
        let applied = match result {
            Ok(applied) => applied,
            Err(e) => {
                let _ = fsutil::remove_any(&dir);
                return Err(e);
            }
        };
        let chain = chain_id(parent, &applied.diff_id);
        let mut index = self.lock();
        if index.layers.contains_key(&chain) {
            // Someone else unpacked the same layer meanwhile; theirs is as good as ours.
            drop(index);
            let _ = fsutil::remove_any(&dir);
            return Ok(chain);
        }
        let record = LayerRecord {
            id,
            parent: parent.cloned(),
            diff_id: applied.diff_id,
            size: applied.content_size,
            durable: true,
        };
        if let Err(e) = self.insert_layer(&mut index, &chain, record) {
            drop(index);
            let _ = fsutil::remove_any(&dir);
            return Err(e);
        }
        Ok(chain)
    }

    fn unpack_into(
        &self,
        dir: &Path,
        parent: Option<&Digest>,
        expected: Option<&Digest>,
        stream: impl Read + Send,
        sync: bool,
    ) -> Result<layer::Applied, SnapshotError> {
        let fs_dir = dir.join("fs");
        fs::create_dir_all(&fs_dir).map_err(|source| SnapshotError::Io {
            path: fs_dir.clone(),
            source,
        })?;
        let applied =
            layer::apply_layer(stream, &fs_dir).map_err(|source| SnapshotError::Apply {
                expected: expected.cloned(),
                parent: parent.cloned(),
                source: Box::new(source),
            })?;
        if let Some(expected) = expected
            && &applied.diff_id != expected
        {
            return Err(SnapshotError::DiffIdMismatch {
                expected: expected.clone(),
                actual: applied.diff_id,
            });
        }
        // Make the unpacked files durable before the index points at them.
        if sync {
            fsutil::sync_filesystem(&fs_dir).map_err(|source| SnapshotError::Io {
                path: fs_dir.clone(),
                source,
            })?;
        }
        Ok(applied)
    }

    /// The layer directories of `chain_id`'s chain, top first (the overlay lowerdir order).
    pub fn layer_dirs(&self, chain_id: &Digest) -> Result<Vec<PathBuf>, SnapshotError> {
        let index = self.lock();
        let chain = index
            .chain(chain_id)
            .ok_or_else(|| SnapshotError::ParentMissing {
                chain_id: chain_id.clone(),
            })?;
        Ok(chain
            .iter()
            .map(|(_, record)| self.fs_dir(record.id))
            .collect())
    }

    /// Removes layer snapshot `chain_id` (its directory once no other chain shares it);
    /// refused while anything sits on it.
    pub fn remove_layer(&self, chain_id: &Digest) -> Result<bool, SnapshotError> {
        let mut index = self.lock();
        if index.has_children(chain_id) {
            return Err(SnapshotError::InUse {
                chain_id: chain_id.clone(),
            });
        }
        let Some(record) = index.layers.remove(chain_id) else {
            return Ok(false);
        };
        self.save(&index)?;
        // A directory shared by other chains (`share_layer`) stays until the last one goes.
        if index.layers.values().any(|l| l.id == record.id) {
            return Ok(true);
        }
        drop(index);
        let dir = self.dir(record.id);
        fsutil::remove_any(&dir).map_err(|source| SnapshotError::Io { path: dir, source })?;
        Ok(true)
    }

    /// Removes every layer snapshot that is neither in `keep` nor below something kept or a
    /// container snapshot. Returns the removed chain IDs.
    pub fn prune_layers(&self, keep: &HashSet<Digest>) -> Result<Vec<Digest>, SnapshotError> {
        let index = self.index();
        let mut live: HashSet<Digest> = HashSet::new();
        let tops = keep
            .iter()
            .cloned()
            .chain(index.active.values().filter_map(|a| a.parent.clone()));
        for top in tops {
            for (chain_id, _) in index.chain(&top).unwrap_or_default() {
                live.insert(chain_id.clone());
            }
        }
        let mut removed = Vec::new();
        // Remove children before parents: repeat until nothing more goes.
        loop {
            let current = self.index();
            let victim = current
                .layers
                .keys()
                .find(|c| !live.contains(*c) && !current.has_children(c))
                .cloned();
            let Some(victim) = victim else { break };
            self.remove_layer(&victim)?;
            removed.push(victim);
        }
        Ok(removed)
    }
}
