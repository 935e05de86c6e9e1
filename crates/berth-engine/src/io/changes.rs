//! `GET /containers/{id}/changes` (`docker diff`): what the container's overlay upper dir holds
//! compared with the image layers below it, computed as Docker's `archive.OverlayChanges` does
//! (whiteouts are deletions, opaque directories replace what was below, a directory counts as
//! modified only if its metadata differs or something inside it was added or deleted).
//!
//! Docker keeps the mount points it creates (`/etc/hosts`, `/proc`, …) in an "init" layer
//! below the container's, so they never show; we create them in the upper dir, and skip the
//! same paths instead.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use serde::Serialize;

use crate::error::{ErrorKind, HasKind};
use crate::io::tarwalk::sorted_names;

/// Docker's init-layer paths: mount points and files every container gets.
const INIT_PATHS: &[&str] = &[
    "/dev/pts",
    "/dev/shm",
    "/proc",
    "/sys",
    "/.dockerenv",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/hostname",
    "/dev/console",
    "/etc/mtab",
];
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

#[derive(Debug, thiserror::Error)]
pub enum ChangesError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Snapshot(#[from] berth_store::snapshot::SnapshotError),
    #[error("container {id}: changes need an overlay snapshot (this one uses the copy driver)")]
    NotOverlay { id: String },
}

impl HasKind for ChangesError {
    fn kind(&self) -> ErrorKind {
        match self {
            ChangesError::NotOverlay { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::System,
        }
    }
}

/// Docker's change kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Modified = 0,
    Added = 1,
    Deleted = 2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Kind")]
    pub kind: u8,
}

/// The upper dir and lower dirs (top first) of container snapshot `key`.
pub fn overlay_dirs(
    store: &berth_store::Store,
    key: &str,
) -> Result<(PathBuf, Vec<PathBuf>), ChangesError> {
    let mount = store.snapshots.mounts(key)?;
    let option = |name: &str| {
        mount
            .options
            .iter()
            .find_map(|o| o.strip_prefix(name).map(str::to_string))
    };
    match (option("upperdir="), option("lowerdir=")) {
        (Some(upper), Some(lower)) => Ok((
            PathBuf::from(upper),
            lower.split(':').map(PathBuf::from).collect(),
        )),
        _ => Err(ChangesError::NotOverlay {
            id: key.to_string(),
        }),
    }
}

/// The changes in `upper` relative to `lowers` (top first), sorted by path.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, ChangesError> {
    let err = |source| ChangesError::Io {
        path: upper.to_path_buf(),
        source,
    };
    let root = rustix::fs::open(
        upper,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err(e.into()))?;
    let mut walk = Walk {
        lowers,
        out: Vec::new(),
        changed_dirs: HashSet::new(),
    };
    walk.dir(&root, "", false).map_err(err)?;
    let mut out = walk.out;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup();
    Ok(out)
}

struct Walk<'a> {
    lowers: &'a [PathBuf],
    out: Vec<Change>,
    changed_dirs: HashSet<String>,
}

impl Walk<'_> {
    /// Visits the entries of `dir` (whose container path is `prefix`, "" for the root).
    fn dir(&mut self, dir: &OwnedFd, prefix: &str, in_opaque: bool) -> io::Result<()> {
        for name in sorted_names(dir)? {
            let path = format!("{prefix}/{}", name.to_string_lossy());
            let st = match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(e.into()),
            };
            let kind = FileType::from_raw_mode(st.st_mode);
            let child = if kind == FileType::Directory {
                Some(rustix::fs::openat(
                    dir,
                    &name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?)
            } else {
                None
            };
            let opaque = child.as_ref().is_some_and(is_opaque);
            if !INIT_PATHS.contains(&path.as_str()) {
                self.classify(&path, &st, kind, opaque, in_opaque);
            }
            if let Some(child) = child {
                self.dir(&child, &path, in_opaque || opaque)?;
            }
        }
        Ok(())
    }

    fn classify(
        &mut self,
        path: &str,
        st: &rustix::fs::Stat,
        kind: FileType,
        opaque: bool,
        in_opaque: bool,
    ) {
        let whiteout = kind == FileType::CharacterDevice && st.st_rdev == 0;
        let change = if whiteout {
            Some(Kind::Deleted)
        } else if in_opaque {
            Some(Kind::Added)
        } else {
            match self.lower_metadata(path) {
                // A missing parent of a mount point was made by the runtime, not the process.
                None if is_init_parent(path) => None,
                None => Some(Kind::Added),
                Some(lower) if kind == FileType::Directory && lower.is_dir() && !opaque => {
                    let same = u64::from(st.st_mode) & 0o7777 == u64::from(lower.mode()) & 0o7777
                        && st.st_uid == lower.uid()
                        && st.st_gid == lower.gid()
                        && (is_init_parent(path)
                            || (st.st_mtime == lower.mtime()
                                && st.st_mtime_nsec as i64 == lower.mtime_nsec()));
                    (!same).then_some(Kind::Modified)
                }
                Some(_) => Some(Kind::Modified),
            }
        };
        let Some(kind_found) = change else {
            return;
        };
        if kind == FileType::Directory {
            self.changed_dirs.insert(path.to_string());
        }
        self.out.push(Change {
            path: path.to_string(),
            kind: kind_found as u8,
        });
        if matches!(kind_found, Kind::Added | Kind::Deleted) {
            // The parent of an added or deleted entry is modified, even if its own metadata
            // looks the same.
            if let Some((parent, _)) = path.rsplit_once('/')
                && !parent.is_empty()
                && self.changed_dirs.insert(parent.to_string())
            {
                self.out.push(Change {
                    path: parent.to_string(),
                    kind: Kind::Modified as u8,
                });
            }
        }
    }

    /// The entry at `path` in the topmost lower that has it.
    fn lower_metadata(&self, path: &str) -> Option<std::fs::Metadata> {
        let relative = path.trim_start_matches('/');
        self.lowers
            .iter()
            .find_map(|lower| std::fs::symlink_metadata(lower.join(relative)).ok())
    }
}

/// Directories that hold init paths: creating a mount point in them changed their mtime,
/// which Docker (whose init layer sits below the container's) never sees.
fn is_init_parent(path: &str) -> bool {
    INIT_PATHS
        .iter()
        .any(|p| p.rsplit_once('/').is_some_and(|(parent, _)| parent == path))
}

fn is_opaque(dir: &OwnedFd) -> bool {
    let mut value = [0u8; 4];
    matches!(
        rustix::fs::fgetxattr(dir, OsStr::new(OPAQUE_XATTR), &mut value),
        Ok(1) if value[0] == b'y'
    )
}

#[cfg(test)]
mod tests;
