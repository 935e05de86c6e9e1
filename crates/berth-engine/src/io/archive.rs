//! `docker cp` and `docker export`: stat a path, tar a path, extract a tar into a directory,
//! tar the whole rootfs. Every path is resolved inside the container's rootfs by the kernel
//! (`rootpath`), and trees are walked by fd (`tarwalk`); extraction reuses the store's layer
//! extraction, which never follows symlinks in the paths it writes.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, OFlags};
use serde::Serialize;

use crate::error::{ErrorKind, HasKind};
use crate::io::rootpath::{self, base_name, open_in_root};
use crate::io::tarwalk::TarWalker;

mod entry_watch;
use entry_watch::{EntryHeader, EntryWatch};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("Could not find the file {path} in container {container}")]
    NotFound { path: String, container: String },
    #[error("extraction point is not a directory")]
    NotADirectory { path: String },
    #[error("container rootfs {path}: {source}")]
    Root { path: PathBuf, source: io::Error },
    #[error("{path} in container {container}: {source}")]
    Io {
        path: String,
        container: String,
        source: io::Error,
    },
    /// `noOverwriteDirNonDir`: an entry would replace a directory with a non-directory (or
    /// back). Docker's wording.
    #[error("cannot overwrite {existing} {path:?} with {new} {dest:?}")]
    Overwrite {
        existing: &'static str,
        new: &'static str,
        path: String,
        dest: String,
    },
    /// `copyUIDGID`: the container's user could not be resolved in its rootfs.
    #[error("resolving the container's user for copyUIDGID: {0}")]
    User(crate::spec::SpecError),
    #[error("extracting into {path}: {source}")]
    Extract {
        path: String,
        source: berth_store::layer::LayerError,
    },
}

impl HasKind for ArchiveError {
    fn kind(&self) -> ErrorKind {
        match self {
            ArchiveError::NotFound { .. } => ErrorKind::NotFound,
            ArchiveError::NotADirectory { .. }
            | ArchiveError::Overwrite { .. }
            | ArchiveError::Extract { .. } => ErrorKind::InvalidArgument,
            ArchiveError::User(e) => e.kind(),
            _ => ErrorKind::System,
        }
    }
}

/// Docker's `container.PathStat` (`X-Docker-Container-Path-Stat`, base64 JSON).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits: permission bits plus type flags in the high bits.
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// `PUT archive` options (Docker's query parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    /// `noOverwriteDirNonDir`: refuse to replace a directory with a non-directory and back.
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID`: the owner (uid, gid) every extracted entry gets; `None` keeps the tar's.
    pub owner: Option<(u32, u32)>,
}

/// `copyUIDGID`: the owner for copied-in files, the container's `Config.User` resolved in its
/// rootfs; `None` when it has no user (the tar's owners are kept, as Docker).
pub fn copy_owner(rootfs: &Path, user: &str) -> Result<Option<(u32, u32)>, ArchiveError> {
    if user.is_empty() {
        return Ok(None);
    }
    let resolved = crate::spec::resolve_user(rootfs, user, &[]).map_err(ArchiveError::User)?;
    Ok(Some((resolved.uid, resolved.gid)))
}

/// A container's rootfs, opened as the anchor for resolving its paths.
pub struct Rootfs {
    root: OwnedFd,
    container: String,
}

impl Rootfs {
    /// `container` is how errors name it (Docker uses the name the client gave).
    pub fn open(rootfs: &Path, container: &str) -> Result<Rootfs, ArchiveError> {
        let root = rootpath::open_root(rootfs).map_err(|source| ArchiveError::Root {
            path: rootfs.to_path_buf(),
            source,
        })?;
        Ok(Rootfs {
            root,
            container: container.to_string(),
        })
    }

    fn err(&self, path: &str) -> impl Fn(io::Error) -> ArchiveError + '_ {
        let path = path.to_string();
        move |source| {
            if source.kind() == io::ErrorKind::NotFound {
                ArchiveError::NotFound {
                    path: path.clone(),
                    container: self.container.clone(),
                }
            } else {
                ArchiveError::Io {
                    path: path.clone(),
                    container: self.container.clone(),
                    source,
                }
            }
        }
    }

    /// Follows a final symlink only when the path asks for the directory (`link/`, `link/.`),
    /// as Docker does.
    fn open_path(&self, path: &str) -> Result<OwnedFd, ArchiveError> {
        let follow = path.ends_with('/') || path.ends_with("/.");
        open_in_root(&self.root, path, OFlags::PATH, follow).map_err(self.err(path))
    }

    /// `HEAD /containers/{id}/archive`.
    pub fn stat(&self, path: &str) -> Result<PathStat, ArchiveError> {
        let fd = self.open_path(path)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| self.err(path)(e.into()))?;
        let kind = FileType::from_raw_mode(st.st_mode);
        let link_target = if kind == FileType::Symlink {
            let target = rustix::fs::readlinkat(&fd, "", Vec::new())
                .map_err(|e| self.err(path)(e.into()))?;
            target.to_string_lossy().into_owned()
        } else {
            String::new()
        };
        Ok(PathStat {
            name: base_name(path).to_string_lossy().into_owned(),
            size: st.st_size,
            mode: go_file_mode(st.st_mode),
            mtime: berth_oci::time::format_rfc3339(st.st_mtime),
            link_target,
        })
    }

    /// `GET /containers/{id}/archive`: the path (and everything below it) as a tar whose top
    /// entry is the path's base name. Returns the stat first so errors come before any byte.
    pub fn prepare_get(&self, path: &str) -> Result<(PathStat, PreparedGet), ArchiveError> {
        let stat = self.stat(path)?;
        let fd = self.open_path(path)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| self.err(path)(e.into()))?;
        let reopen = |flags| {
            open_in_root(
                &self.root,
                path,
                flags,
                path.ends_with('/') || path.ends_with("/."),
            )
            .map_err(self.err(path))
        };
        let what = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Target::Dir(reopen(OFlags::RDONLY | OFlags::DIRECTORY)?),
            FileType::RegularFile => Target::File(reopen(OFlags::RDONLY | OFlags::NONBLOCK)?),
            // Links, devices, fifos: archived from their parent directory by name.
            _ => {
                let parent = parent_of(path);
                let dir = open_in_root(
                    &self.root,
                    &parent,
                    OFlags::RDONLY | OFlags::DIRECTORY,
                    true,
                )
                .map_err(self.err(path))?;
                Target::Entry(dir, base_name(path))
            }
        };
        Ok((
            stat,
            PreparedGet {
                what,
                name: PathBuf::from(base_name(path)),
            },
        ))
    }

    /// `PUT /containers/{id}/archive`: extracts `tar` into the directory `path`.
    pub fn extract(
        &self,
        path: &str,
        tar: impl Read + Send,
        opts: PutOptions,
    ) -> Result<(), ArchiveError> {
        let fd = open_in_root(&self.root, path, OFlags::PATH, true).map_err(self.err(path))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| self.err(path)(e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(ArchiveError::NotADirectory {
                path: path.to_string(),
            });
        }
        // The magic link reaches exactly the directory we resolved, wherever it is.
        let via = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        let refused = std::sync::Arc::new(std::sync::Mutex::new(None));
        let result = if opts.no_overwrite_dir_non_dir || opts.owner.is_some() {
            let slot = refused.clone();
            let dest = path.to_string();
            let check = move |entry: &EntryHeader| {
                if opts.no_overwrite_dir_non_dir
                    && let Some(conflict) = overwrite_conflict(&fd, &dest, entry)
                {
                    let message = conflict.to_string();
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(conflict);
                    return Err(io::Error::other(message));
                }
                Ok(opts.owner)
            };
            let watched = EntryWatch::new(tar, opts.owner.is_some(), check);
            berth_store::layer::apply_layer(watched, &via)
        } else {
            berth_store::layer::apply_layer(tar, &via)
        };
        if let Some(conflict) = refused.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(conflict);
        }
        result.map_err(|source| ArchiveError::Extract {
            path: path.to_string(),
            source,
        })?;
        Ok(())
    }

    /// `GET /containers/{id}/export`: the whole rootfs as a tar (entries relative to `/`).
    pub fn export(&self, out: impl Write) -> Result<(), ArchiveError> {
        let root = open_in_root(&self.root, "/", OFlags::RDONLY | OFlags::DIRECTORY, true)
            .map_err(self.err("/"))?;
        let mut walker = TarWalker::new(out);
        walker
            .append_dir(&root, Path::new(""), false)
            .and_then(|()| walker.finish().map(drop))
            .map_err(self.err("/"))
    }
}

enum Target {
    Dir(OwnedFd),
    File(OwnedFd),
    Entry(OwnedFd, std::ffi::OsString),
}

/// A resolved `GET archive` source, ready to stream.
pub struct PreparedGet {
    what: Target,
    name: PathBuf,
}

impl PreparedGet {
    pub fn write_to(self, out: impl Write) -> io::Result<()> {
        let mut walker = TarWalker::new(out);
        match self.what {
            Target::Dir(dir) => walker.append_dir(&dir, &self.name, true)?,
            Target::File(file) => walker.append_file(file, &self.name)?,
            Target::Entry(dir, name) => walker.append_at(&dir, OsStr::new(&name), &self.name)?,
        }
        walker.finish().map(drop)
    }
}

/// With `noOverwriteDirNonDir`: whether `entry` would replace a directory by a non-directory
/// (or back) under the extraction directory `dir`. Looks without following any symlink; a
/// path that does not resolve that way has nothing to replace (the extractor decides).
fn overwrite_conflict(dir: &OwnedFd, dest: &str, entry: &EntryHeader) -> Option<ArchiveError> {
    let raw = std::str::from_utf8(&entry.path).ok()?;
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    let relative = parts.join("/");
    let found = rustix::fs::openat2(
        dir,
        relative.as_str(),
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
        rustix::fs::ResolveFlags::BENEATH
            | rustix::fs::ResolveFlags::NO_SYMLINKS
            | rustix::fs::ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let is_dir =
        FileType::from_raw_mode(rustix::fs::fstat(&found).ok()?.st_mode) == FileType::Directory;
    if is_dir == entry.is_dir {
        return None;
    }
    let kind = |dir: bool| if dir { "directory" } else { "non-directory" };
    Some(ArchiveError::Overwrite {
        existing: kind(is_dir),
        new: kind(entry.is_dir),
        path: format!("{}/{relative}", dest.trim_end_matches('/')),
        dest: dest.to_string(),
    })
}

fn parent_of(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((parent, _)) => parent.to_string(),
    }
}

/// Go's `os.FileMode` from a Unix mode: permission bits, then type and special bits where Go
/// puts them (what the docker CLI decodes).
pub fn go_file_mode(mode: u32) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let mut out = mode & 0o777;
    out |= match FileType::from_raw_mode(mode) {
        FileType::Directory => DIR,
        FileType::Symlink => SYMLINK,
        FileType::BlockDevice => DEVICE,
        FileType::CharacterDevice => DEVICE | CHAR,
        FileType::Fifo => PIPE,
        FileType::Socket => SOCKET,
        _ => 0,
    };
    if mode & 0o4000 != 0 {
        out |= SETUID;
    }
    if mode & 0o2000 != 0 {
        out |= SETGID;
    }
    if mode & 0o1000 != 0 {
        out |= STICKY;
    }
    out
}

#[cfg(test)]
mod tests;
