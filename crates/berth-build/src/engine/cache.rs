//! The step cache: key = sha256(parent key, expanded instruction, build args in scope, digest
//! of the files a COPY/ADD reads); `<store root>/build-cache/<key>.json` maps it to the config
//! after the step and the layer it produced, so an unchanged rebuild runs nothing.
//!
//! Each record is also a GC root of the store (owner [`ROOTS_OWNER`], same name as the key):
//! its layer blob and snapshot chain survive `rmi` and image prune, so the intermediate layers
//! of non-final stages stay usable until `builder prune` removes the record and its root.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_oci::Digest;
use berth_store::{GcRoots, PlannedLayer, Store};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::sources;
use crate::dockerignore::Matcher;

/// A step's cache key, built from its inputs in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(pub String);

impl CacheKey {
    /// The key of a stage's starting point.
    pub fn base(identity: &str) -> CacheKey {
        CacheKey(hex(&Sha256::digest(format!("base\0{identity}"))))
    }

    /// The key after a step with `parts` as inputs.
    pub fn child(&self, parts: &[&str]) -> CacheKey {
        let mut hasher = Sha256::new();
        hasher.update(self.0.as_bytes());
        for part in parts {
            hasher.update([0u8]);
            hasher.update(part.len().to_le_bytes());
            hasher.update(part.as_bytes());
        }
        CacheKey(hex(&hasher.finalize()))
    }
}

/// What a cached step left behind.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub config: Value,
    pub cmd_set: bool,
    pub layer: Option<PlannedLayer>,
    pub chain: Option<Digest>,
}

/// The store's GC-root owner name for build cache records.
pub(super) const ROOTS_OWNER: &str = "build-cache";

pub(super) fn dir(store: &Store) -> PathBuf {
    store.root().join("build-cache")
}

/// The entry for `key`, if present and everything it points at is still in the store.
pub fn lookup(store: &Store, key: &CacheKey) -> Option<CacheEntry> {
    let path = dir(store).join(format!("{}.json", key.0));
    let bytes = fs::read(&path).ok()?;
    let doc: Value = serde_json::from_slice(&bytes).ok()?;
    let digest = |v: &Value| serde_json::from_value::<Digest>(v.clone()).ok();
    let layer = match &doc["layer"] {
        Value::Null => None,
        l => Some(PlannedLayer {
            digest: digest(&l["digest"])?,
            media_type: l["media_type"].as_str()?.to_string(),
            size: l["size"].as_u64()?,
            diff_id: digest(&l["diff_id"])?,
        }),
    };
    let chain = match &doc["chain"] {
        Value::Null => None,
        c => Some(digest(c)?),
    };
    if let Some(layer) = &layer
        && !store.content.contains(&layer.digest)
    {
        return None;
    }
    if let Some(chain) = &chain
        && !store.snapshots.has_layer(chain)
    {
        return None;
    }
    // A hit is a use: the record's mtime is its LastUsedAt (system df; prune's `until`
    // then spares what builds still use).
    if let Ok(record) = fs::File::options().write(true).open(&path) {
        let _ = record.set_modified(std::time::SystemTime::now());
    }
    Some(CacheEntry {
        config: doc["config"].clone(),
        cmd_set: doc["cmd_set"].as_bool().unwrap_or(false),
        layer,
        chain,
    })
}

/// The layer a record on disk points at, if it is readable and has one.
pub(super) fn record_layer(path: &Path) -> Option<Digest> {
    let doc: Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
    serde_json::from_value(doc["layer"]["digest"].clone()).ok()
}

/// Records `entry` under `key` (temp file + rename, so readers never see half an entry),
/// after the GC root that keeps what it points at.
pub fn store_entry(store: &Store, key: &CacheKey, entry: &CacheEntry) -> io::Result<()> {
    let roots = GcRoots {
        blobs: entry.layer.iter().map(|l| l.digest.clone()).collect(),
        layers: entry.chain.iter().cloned().collect(),
    };
    if !roots.is_empty() {
        store
            .put_gc_root(ROOTS_OWNER, &key.0, &roots)
            .map_err(io::Error::other)?;
    }
    let dir = dir(store);
    fs::create_dir_all(&dir)?;
    let layer = entry.layer.as_ref().map(|l| {
        json!({"digest": l.digest, "media_type": l.media_type, "size": l.size, "diff_id": l.diff_id})
    });
    let doc = json!({
        "config": entry.config,
        "cmd_set": entry.cmd_set,
        "layer": layer,
        "chain": entry.chain,
    });
    let tmp = dir.join(format!(".tmp-{}-{}", key.0, std::process::id()));
    fs::write(&tmp, serde_json::to_vec(&doc).unwrap_or_default())?;
    fs::rename(&tmp, dir.join(format!("{}.json", key.0)))
}

/// What a COPY/ADD reads: `--parents` and `--exclude` (an excluded file never changes the key).
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceFilter<'a> {
    pub parents: bool,
    pub exclude: Option<&'a Matcher>,
}

/// Digest of the files a COPY/ADD from the context reads: paths, types, modes, sizes, link
/// targets and contents (not mtimes, like BuildKit), after wildcards, `.dockerignore` and
/// `--exclude`.
pub fn sources_digest(
    root: &Path,
    sources: &[String],
    ignore: Option<&Matcher>,
    filter: SourceFilter,
) -> io::Result<String> {
    let mut hasher = Sha256::new();
    for source in sources {
        hasher.update(format!("source\0{source}\0"));
        let found = sources::find(root, source, filter.parents);
        if found.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("source {source:?} not found"),
            ));
        }
        let walk = Walk {
            ignore,
            exclude: filter.exclude,
        };
        for found in found {
            if let (Some(exclude), Some(path)) = (filter.exclude, &found.exclude_self)
                && exclude.matches(path, found.path.is_dir())
            {
                continue;
            }
            hasher.update(format!("kept\0{}\0", found.kept.as_deref().unwrap_or("")));
            walk.hash_tree(
                &mut hasher,
                &found.path,
                (&found.rel, &found.exclude_prefix),
                true,
            )?;
        }
    }
    Ok(hex(&hasher.finalize()))
}

struct Walk<'a> {
    ignore: Option<&'a Matcher>,
    exclude: Option<&'a Matcher>,
}

impl Walk<'_> {
    /// `paths`: relative to the root (for `.dockerignore`) and the path `--exclude` tests.
    fn hash_tree(
        &self,
        hasher: &mut Sha256,
        path: &Path,
        (rel, excluded_as): (&str, &str),
        top: bool,
    ) -> io::Result<()> {
        let meta = if top {
            fs::metadata(path)?
        } else {
            fs::symlink_metadata(path)?
        };
        if !top && self.ignore.is_some_and(|m| m.matches(rel, meta.is_dir())) && !meta.is_dir() {
            return Ok(());
        }
        if !top
            && self
                .exclude
                .is_some_and(|m| m.matches(excluded_as, meta.is_dir()))
        {
            return Ok(());
        }
        hasher.update(format!(
            "{rel}\0{:o}\0{}\0{}\0{}\0",
            meta.mode(),
            meta.uid(),
            meta.gid(),
            meta.len()
        ));
        let kind = meta.file_type();
        if kind.is_symlink() {
            hasher.update(fs::read_link(path)?.as_os_str().as_encoded_bytes());
        } else if kind.is_file() {
            let mut file = fs::File::open(path)?;
            let mut buf = [0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        } else if kind.is_dir() {
            let mut names: Vec<_> = fs::read_dir(path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()?;
            names.sort();
            let join = |base: &str, name: &str| {
                if base.is_empty() {
                    name.to_string()
                } else {
                    format!("{base}/{name}")
                }
            };
            for name in names {
                let text = name.to_string_lossy();
                let child = join(rel, &text);
                let child_excluded_as = join(excluded_as, &text);
                self.hash_tree(
                    hasher,
                    &path.join(&name),
                    (&child, &child_excluded_as),
                    false,
                )?;
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
