//! `docker builder prune`: removes step cache records (and the GC roots they hold in the
//! store) and cache-mount directories, then lets the store collect the intermediate layers
//! only those records kept alive.
//!
//! Builds hold a shared lock on `<store>/build-cache.lock` for their whole run and prune an
//! exclusive one, so a prune never deletes a cache mount a RUN is using.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use berth_oci::Digest;
use berth_store::{GcRootError, Store, StoreError};
use rustix::fs::{FlockOperation, flock};

use super::cache::{self, CacheKey};

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("build cache {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("collecting unused layers: {source}")]
    Gc { source: Box<StoreError> },
    #[error("build cache record {key}: {source}")]
    Root { key: String, source: GcRootError },
    #[error("listing the build cache's GC roots: {source}")]
    Roots { source: GcRootError },
}

/// What to remove.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// `-a`: also the records of steps whose layers are part of an image (they cost no extra
    /// space but let rebuilds skip work). Without it only those are kept.
    pub all: bool,
    /// `--filter until=…`: only what was last used longer ago than this.
    pub older_than: Option<Duration>,
}

/// What went, Docker's `BuildCachePruneResponse` in our terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Step cache keys and `mount:<dir>` for cache mounts.
    pub deleted: Vec<String>,
    /// Bytes of records, cache-mount files and layer blobs freed.
    pub space_reclaimed: u64,
}

/// What `GET /system/df` reports of one cache entry (Docker's `BuildCache` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheUsage {
    /// The step cache key, or the cache mount's directory name.
    pub id: String,
    /// The records whose layer this one's sits on.
    pub parents: Vec<String>,
    /// BuildKit's record types: `regular` for a step's layer, `exec.cachemount` for a mount.
    pub kind: &'static str,
    pub description: String,
    /// Its layer is one of an image's (it costs nothing beyond the image).
    pub shared: bool,
    /// Unpacked bytes of the step's layer, or of the cache mount's files.
    pub size: u64,
    pub created: SystemTime,
    pub last_used: SystemTime,
}

/// Lists the step records that produced a layer (in key order), then the cache mounts.
/// Records of metadata-only steps (ENV, LABEL…) hold no data and are left out, as BuildKit
/// lists only records with a snapshot.
pub fn cache_usage(store: &Store) -> Result<Vec<CacheUsage>, PruneError> {
    let in_images: HashSet<Digest> = store
        .images
        .list()
        .iter()
        .flat_map(|i| i.layers.iter().map(|l| l.digest.clone()))
        .collect();
    let index = store.snapshots.index();
    let mut found = Vec::new();
    // Each found record's (chain, parent chain), to name parents once all are known.
    let mut chains: Vec<(Digest, Option<Digest>)> = Vec::new();
    for (path, meta) in entries(&cache::dir(store))? {
        let Some(key) = record_key(&path) else {
            continue;
        };
        let Some(record) = cache::lookup(store, &CacheKey(key.to_string())) else {
            continue;
        };
        let (Some(layer), Some(chain)) = (record.layer, record.chain) else {
            continue;
        };
        let Some(snapshot) = index.layers.get(&chain) else {
            continue;
        };
        chains.push((chain.clone(), snapshot.parent.clone()));
        found.push(CacheUsage {
            id: key.to_string(),
            parents: Vec::new(),
            kind: "regular",
            description: step_description(&record.config),
            shared: in_images.contains(&layer.digest),
            size: snapshot.size,
            created: created(&meta),
            last_used: last_written(&meta),
        });
    }
    for i in 0..found.len() {
        let Some(parent) = &chains[i].1 else {
            continue;
        };
        found[i].parents = chains
            .iter()
            .zip(&found)
            .filter(|((chain, _), _)| chain == parent)
            .map(|(_, record)| record.id.clone())
            .collect();
    }
    for (path, meta) in entries(&store.root().join("build-cache-mounts"))? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        found.push(CacheUsage {
            id: name.unwrap_or_default(),
            parents: Vec::new(),
            kind: "exec.cachemount",
            description: "cached mount (RUN --mount=type=cache)".to_string(),
            shared: false,
            size: tree_size(&path),
            created: created(&meta),
            last_used: last_written(&meta),
        });
    }
    Ok(found)
}

/// Birth time where the filesystem keeps one, else the last write.
fn created(meta: &fs::Metadata) -> SystemTime {
    meta.created().unwrap_or_else(|_| last_written(meta))
}

/// The last use: a record is touched on every cache hit and rewritten when its step runs
/// again, a cache mount's directory when a RUN adds or removes files at its top.
fn last_written(meta: &fs::Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The step's instruction as the image history tells it (its last entry is this step's).
fn step_description(config: &serde_json::Value) -> String {
    config["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|entry| entry["created_by"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Shared while a build runs, exclusive while pruning; released on drop.
pub struct CacheLock {
    _file: fs::File,
}

impl CacheLock {
    pub fn shared(store: &Store) -> Result<CacheLock, PruneError> {
        CacheLock::take(store, FlockOperation::LockShared)
    }

    fn exclusive(store: &Store) -> Result<CacheLock, PruneError> {
        CacheLock::take(store, FlockOperation::LockExclusive)
    }

    fn take(store: &Store, op: FlockOperation) -> Result<CacheLock, PruneError> {
        let path = store.root().join("build-cache.lock");
        let io_err = |source| PruneError::Io {
            path: path.clone(),
            source,
        };
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err)?;
        flock(&file, op).map_err(|e| io_err(e.into()))?;
        Ok(CacheLock { _file: file })
    }
}

/// Removes build cache as `opts` says and reports what went.
pub fn prune(store: &Store, opts: &PruneOptions) -> Result<PruneReport, PruneError> {
    let _lock = CacheLock::exclusive(store)?;
    let mut report = PruneReport::default();
    let in_images: HashSet<Digest> = store
        .images
        .list()
        .iter()
        .flat_map(|i| i.layers.iter().map(|l| l.digest.clone()))
        .collect();
    let old_enough = |meta: &fs::Metadata| match opts.older_than {
        None => true,
        Some(age) => meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|elapsed| elapsed >= age),
    };

    let records = cache::dir(store);
    for (path, meta) in entries(&records)? {
        let Some(key) = record_key(&path) else {
            continue;
        };
        if !old_enough(&meta) {
            continue;
        }
        let backs_an_image = cache::record_layer(&path).is_some_and(|d| in_images.contains(&d));
        if backs_an_image && !opts.all {
            continue;
        }
        remove_record(store, &path, key)?;
        report.space_reclaimed += meta.len();
        report.deleted.push(key.to_string());
    }
    remove_orphan_roots(store, &records)?;

    let mounts = store.root().join("build-cache-mounts");
    for (path, meta) in entries(&mounts)? {
        if !old_enough(&meta) {
            continue;
        }
        report.space_reclaimed += tree_size(&path);
        remove(&path, meta.is_dir())?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        report
            .deleted
            .push(format!("mount:{}", name.unwrap_or_default()));
    }

    if report.deleted.is_empty() {
        return Ok(report);
    }
    // Records that stay are roots, so their layers stay; a record whose layers are gone
    // anyway (written before records were roots, or its root lost in a crash) goes too.
    let gc = store.gc().map_err(|source| PruneError::Gc {
        source: Box::new(source),
    })?;
    report.space_reclaimed += gc.bytes_freed;
    for (path, meta) in entries(&records)? {
        let Some(key) = record_key(&path) else {
            continue;
        };
        if cache::lookup(store, &CacheKey(key.to_string())).is_none() {
            remove_record(store, &path, key)?;
            report.space_reclaimed += meta.len();
            report.deleted.push(key.to_string());
        }
    }
    Ok(report)
}

/// Removes a record and then its GC root (never a root whose record stays).
fn remove_record(store: &Store, path: &Path, key: &str) -> Result<(), PruneError> {
    remove(path, false)?;
    store
        .remove_gc_root(cache::ROOTS_OWNER, key)
        .map_err(|source| PruneError::Root {
            key: key.to_string(),
            source,
        })?;
    Ok(())
}

/// Roots whose record is missing (a build died between writing the two) keep layers no one
/// can use.
fn remove_orphan_roots(store: &Store, records: &Path) -> Result<(), PruneError> {
    let names = store
        .gc_root_names(cache::ROOTS_OWNER)
        .map_err(|source| PruneError::Roots { source })?;
    for key in names {
        if !records.join(format!("{key}.json")).exists() {
            store
                .remove_gc_root(cache::ROOTS_OWNER, &key)
                .map_err(|source| PruneError::Root { key, source })?;
        }
    }
    Ok(())
}

fn record_key(path: &Path) -> Option<&str> {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"))
}

/// A directory's entries with their metadata; a missing directory has none.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, fs::Metadata)>, PruneError> {
    let io_err = |source| PruneError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(e)),
    };
    let mut found = Vec::new();
    for entry in read {
        let entry = entry.map_err(io_err)?;
        let meta = entry.metadata().map_err(io_err)?;
        found.push((entry.path(), meta));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

fn remove(path: &Path, dir: bool) -> Result<(), PruneError> {
    let result = if dir {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    result.map_err(|source| PruneError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Bytes in the regular files under `path` (unreadable parts count as nothing).
fn tree_size(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return if meta.is_file() { meta.size() } else { 0 };
    }
    fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| tree_size(&e.path()))
        .sum()
}
