//! Extra garbage-collection roots: things no image references that another part of the
//! daemon still needs (e.g. the build cache's intermediate layers).
//!
//! `<store root>/gc-roots/<owner>/<name>.json` holds `{"blobs": [digest…], "layers": [chain
//! ID…]}`; [`Store::gc`] keeps every blob listed and every layer snapshot listed with all its
//! ancestors. The owner adds and removes its own files ([`Store::put_gc_root`],
//! [`Store::remove_gc_root`]); a file on disk needs no registration, so roots hold across
//! daemon restarts and for every store user alike.
//!
//! Root files are written temp + rename without fsync: a root lost in a crash only lets the
//! next collection take what it protected, which its owner must tolerate anyway (a missing
//! layer is a cache miss, not corruption).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use berth_oci::Digest;
use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::store::{Store, StoreError};

const DIR: &str = "gc-roots";

/// What one root keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcRoots {
    /// Content blobs (layer tarballs, configs, …).
    #[serde(default)]
    pub blobs: BTreeSet<Digest>,
    /// Layer snapshots by chain ID; their parents are kept with them.
    #[serde(default)]
    pub layers: BTreeSet<Digest>,
}

impl GcRoots {
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty() && self.layers.is_empty()
    }

    fn extend(&mut self, other: GcRoots) {
        self.blobs.extend(other.blobs);
        self.layers.extend(other.layers);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GcRootError {
    #[error("gc root {which:?}: {reason}")]
    BadName { which: String, reason: &'static str },
    #[error("gc roots {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl Store {
    /// Records (or replaces) root `name` of `owner`.
    pub fn put_gc_root(&self, owner: &str, name: &str, roots: &GcRoots) -> Result<(), GcRootError> {
        let path = self.gc_root_path(owner, name)?;
        let dir = path.parent().unwrap_or(self.root()).to_path_buf();
        let io_err = |source| GcRootError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(io_err)?;
        let (temp, mut file) = fsutil::create_temp(&dir, "gc-root").map_err(io_err)?;
        let bytes = serde_json::to_vec(roots).unwrap_or_default();
        let written = file
            .write_all(&bytes)
            .and_then(|()| fs::rename(&temp, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(io_err(e));
        }
        Ok(())
    }

    /// Drops root `name` of `owner`; `false` when there was none.
    pub fn remove_gc_root(&self, owner: &str, name: &str) -> Result<bool, GcRootError> {
        let path = self.gc_root_path(owner, name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(GcRootError::Io { path, source }),
        }
    }

    /// Whether `owner` has a root called `name`.
    pub fn has_gc_root(&self, owner: &str, name: &str) -> Result<bool, GcRootError> {
        Ok(self.gc_root_path(owner, name)?.is_file())
    }

    /// The names of `owner`'s roots, sorted.
    pub fn gc_root_names(&self, owner: &str) -> Result<Vec<String>, GcRootError> {
        check_name(owner)?;
        Ok(list(&self.root().join(DIR).join(owner))?
            .iter()
            .map(|p| file_name(p))
            .filter(|n| !n.starts_with(fsutil::TEMP_PREFIX))
            .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
            .collect())
    }

    /// The union of every owner's roots. An unreadable roots directory fails (sweeping
    /// without it could take what it protects); a malformed root file is skipped with a
    /// warning (it protects nothing anyone can rely on).
    pub fn gc_roots(&self) -> Result<GcRoots, GcRootError> {
        let mut all = GcRoots::default();
        for owner in list(&self.root().join(DIR))? {
            if !owner.is_dir() {
                continue;
            }
            for file in list(&owner)? {
                let is_root = file.extension().is_some_and(|e| e == "json")
                    && !file_name(&file).starts_with(fsutil::TEMP_PREFIX);
                if !is_root {
                    continue;
                }
                if let Some(roots) = read_root(&file)? {
                    all.extend(roots);
                }
            }
            remove_stale_temps(&owner);
        }
        Ok(all)
    }

    /// [`Store::gc_roots`] for the collector, in the store's error terms (a roots directory
    /// it cannot read is a problem with the store root).
    pub(crate) fn roots_for_gc(&self) -> Result<GcRoots, StoreError> {
        self.gc_roots().map_err(|e| match e {
            GcRootError::Io { path, source } => StoreError::Root { path, source },
            GcRootError::BadName { which, reason } => StoreError::Root {
                path: self.root().join(DIR).join(which),
                source: io::Error::new(io::ErrorKind::InvalidInput, reason),
            },
        })
    }

    fn gc_root_path(&self, owner: &str, name: &str) -> Result<PathBuf, GcRootError> {
        check_name(owner)?;
        check_name(name)?;
        Ok(self
            .root()
            .join(DIR)
            .join(owner)
            .join(format!("{name}.json")))
    }
}

/// Owners and names become path components: one plain component each.
fn check_name(which: &str) -> Result<(), GcRootError> {
    let reason = if which.is_empty() {
        "empty"
    } else if which.starts_with('.') {
        "starts with a dot"
    } else if which.contains(['/', '\0']) {
        "contains '/' or NUL"
    } else {
        return Ok(());
    };
    Err(GcRootError::BadName {
        which: which.to_string(),
        reason,
    })
}

fn read_root(path: &Path) -> Result<Option<GcRoots>, GcRootError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        // Removed by its owner while we listed: it protects nothing now.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(GcRootError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(roots) => Ok(Some(roots)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring a malformed gc root");
            Ok(None)
        }
    }
}

/// Temp files of writers that died before their rename; old ones only, so a writer that is
/// between create and rename right now keeps its file.
fn remove_stale_temps(dir: &Path) {
    let stale = |path: &Path| {
        fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(600))
    };
    for path in list(dir).unwrap_or_default() {
        if file_name(&path).starts_with(fsutil::TEMP_PREFIX) && stale(&path) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Entries of `dir`, sorted; a missing directory has none.
fn list(dir: &Path) -> Result<Vec<PathBuf>, GcRootError> {
    let io_err = |source| GcRootError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(e)),
    };
    let mut paths = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(io_err)?;
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: char) -> Digest {
        format!("sha256:{}", byte.to_string().repeat(64))
            .parse()
            .unwrap()
    }

    #[test]
    fn roots_of_every_owner_are_collected_and_removable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let one = GcRoots {
            blobs: [digest('a')].into(),
            layers: [digest('b')].into(),
        };
        let two = GcRoots {
            blobs: [digest('c')].into(),
            layers: BTreeSet::new(),
        };
        store.put_gc_root("build", "k1", &one).unwrap();
        store.put_gc_root("other", "k2", &two).unwrap();
        std::fs::write(dir.path().join("gc-roots/build/broken.json"), b"{not json").unwrap();
        let all = store.gc_roots().unwrap();
        assert_eq!(all.blobs, [digest('a'), digest('c')].into());
        assert_eq!(all.layers, [digest('b')].into());
        assert!(store.has_gc_root("build", "k1").unwrap());
        assert_eq!(store.gc_root_names("build").unwrap(), ["broken", "k1"]);
        assert!(store.remove_gc_root("build", "k1").unwrap());
        assert!(!store.remove_gc_root("build", "k1").unwrap());
        assert_eq!(store.gc_roots().unwrap(), two);
    }

    #[test]
    fn names_that_are_not_one_path_component_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (owner, name) in [("", "x"), ("build", "../x"), (".hidden", "x"), ("b", "a/b")] {
            let err = store
                .put_gc_root(owner, name, &GcRoots::default())
                .unwrap_err();
            assert!(matches!(err, GcRootError::BadName { .. }), "{err}");
        }
    }
}
