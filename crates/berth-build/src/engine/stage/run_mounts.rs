//! `RUN --mount`, as BuildKit gives them to the step:
//! - `cache`: a directory under `<store>/build-cache-mounts/`, keyed by `id` (default: the
//!   target), kept between steps, builds and daemon restarts; `sharing=locked|private` takes
//!   an exclusive lock for the step (shared: none); `from=` seeds it (see `cache_from`).
//! - `bind`: a path of the context, a stage/image or a named context (read-only by default;
//!   `rw` writes go to a throw-away overlay upper, never back to the source).
//! - `tmpfs`: a fresh tmpfs (`size=`).
//! - `secret`: a file from [`BuildOptions::secrets`](crate::engine::BuildOptions) at
//!   `/run/secrets/<id>` (or `target=`) and/or in an env var; never in a layer or cache key.
//!
//! Everything prepared here lives as long as the value returned, and is undone on drop.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_store::snapshot::{Mount as FsMount, MountGuard};
use sha2::{Digest as _, Sha256};

use super::Builder;
use super::named::SourceTree;
use crate::engine::error::BuildError;
use crate::engine::paths::{clean_relative, scoped_resolve};
use crate::engine::run::SpecMount;
use crate::engine::workspace::Workspace;
use crate::instructions::{CacheSharing, FileInfo, Mount};

/// The step's extra mounts and env, and what keeps them valid. Fields drop in order:
/// overlay mounts before the sources and scratch dir under them.
pub(super) struct PreparedMounts<'s> {
    pub specs: Vec<SpecMount>,
    pub env: Vec<String>,
    overlays: Vec<MountGuard>,
    sources: Vec<Workspace<'s>>,
    locks: Vec<fs::File>,
    scratch: Option<Scratch>,
}

/// A private directory for one step's mount state, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), %error, "removing RUN mount state");
        }
    }
}

/// Where cache mount `id` keeps its files.
pub fn cache_mount_dir(store_root: &Path, id: &str) -> PathBuf {
    let hex: String = Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    store_root.join("build-cache-mounts").join(hex)
}

impl<'a> Builder<'a> {
    pub(super) fn prepare_mounts(
        &mut self,
        mounts: &[Mount],
        line: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<PreparedMounts<'a>, BuildError> {
        let mut prepared = PreparedMounts {
            specs: Vec::new(),
            env: Vec::new(),
            overlays: Vec::new(),
            sources: Vec::new(),
            locks: Vec::new(),
            scratch: None,
        };
        for mount in mounts {
            match mount {
                Mount::Cache {
                    target,
                    id,
                    sharing,
                    from,
                    source,
                    read_only,
                    file_info,
                } => {
                    let id = id.as_deref().unwrap_or(target);
                    let dir = match from {
                        Some(from) => {
                            self.seeded_cache_dir(id, from, source.as_deref(), line, visiting)?
                        }
                        None if source.is_some() => {
                            return Err(BuildError::Unsupported {
                                line,
                                feature: "RUN --mount=type=cache with source= but no from=",
                            });
                        }
                        None => cache_mount_dir(self.store.root(), id),
                    };
                    let io = |source| BuildError::Io {
                        line,
                        instruction: "RUN",
                        path: dir.clone(),
                        source,
                    };
                    if !dir.is_dir() {
                        create_owned_dir(&dir, file_info).map_err(io)?;
                    }
                    if *sharing != CacheSharing::Shared {
                        prepared.locks.push(lock(&dir).map_err(io)?);
                    }
                    prepared.specs.push(bind(target, dir.clone(), *read_only));
                }
                Mount::Bind {
                    target,
                    source,
                    from,
                    read_only,
                } => {
                    let tree = match from {
                        None => SourceTree::Dir {
                            root: self.opts.context.clone(),
                            ignore: None,
                        },
                        Some(from) => self.source_tree(from, line, visiting)?,
                    };
                    // A stage's or image's tree is a throw-away snapshot already; a
                    // directory (the context, a named one) is written through an overlay.
                    let open = tree.open(self.store, line, "RUN", "mount-from")?;
                    let (root, snapshot) = (open.root, open.snapshot);
                    let is_snapshot = snapshot.is_some();
                    prepared.sources.extend(snapshot);
                    let rel = clean_relative(source.as_deref().unwrap_or("/"));
                    let path = scoped_resolve(&root, &rel, true);
                    if fs::symlink_metadata(&path).is_err() {
                        return Err(BuildError::SourceMissing {
                            line,
                            instruction: "RUN --mount",
                            source_path: source.clone().unwrap_or_else(|| "/".into()),
                            root,
                        });
                    }
                    let path = if *read_only || is_snapshot {
                        path
                    } else {
                        let scratch = self.scratch(&mut prepared, line)?;
                        writable_copy(&path, &scratch, &mut prepared.overlays).map_err(
                            |source| BuildError::Io {
                                line,
                                instruction: "RUN",
                                path: path.clone(),
                                source,
                            },
                        )?
                    };
                    prepared.specs.push(bind(target, path, *read_only));
                }
                Mount::Tmpfs { target, size } => {
                    let mut options = vec!["nosuid".to_string(), "nodev".to_string()];
                    if let Some(size) = size {
                        options.push(format!("size={size}"));
                    }
                    prepared.specs.push(SpecMount {
                        destination: target.clone(),
                        kind: "tmpfs",
                        source: PathBuf::from("tmpfs"),
                        options,
                    });
                }
                Mount::Secret {
                    id,
                    target,
                    env,
                    required,
                    file_info,
                } => self.secret(
                    &mut prepared,
                    line,
                    id.as_deref(),
                    target.as_deref(),
                    env.as_deref(),
                    *required,
                    file_info,
                )?,
                Mount::Ssh { .. } => {
                    return Err(BuildError::Unsupported {
                        line,
                        feature: "RUN --mount=type=ssh",
                    });
                }
            }
        }
        Ok(prepared)
    }

    fn scratch(
        &self,
        prepared: &mut PreparedMounts<'a>,
        line: usize,
    ) -> Result<PathBuf, BuildError> {
        if let Some(Scratch(dir)) = &prepared.scratch {
            return Ok(dir.clone());
        }
        let dir = self
            .store
            .root()
            .join("build-tmp")
            .join(format!("mounts-{}", crate::engine::network::new_step_id()));
        fs::create_dir_all(&dir).map_err(|source| BuildError::Io {
            line,
            instruction: "RUN",
            path: dir.clone(),
            source,
        })?;
        prepared.scratch = Some(Scratch(dir.clone()));
        Ok(dir)
    }

    #[allow(clippy::too_many_arguments)]
    fn secret(
        &self,
        prepared: &mut PreparedMounts<'a>,
        line: usize,
        id: Option<&str>,
        target: Option<&str>,
        env: Option<&str>,
        required: bool,
        file_info: &FileInfo,
    ) -> Result<(), BuildError> {
        // BuildKit: the id defaults to the target's file name.
        let id = id
            .map(str::to_string)
            .or_else(|| {
                target
                    .and_then(|t| t.rsplit('/').next())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let Some(path) = self.opts.secrets.get(&id) else {
            if required {
                return Err(BuildError::SecretMissing { line, id });
            }
            return Ok(());
        };
        let content = fs::read(path).map_err(|source| BuildError::Read {
            path: path.clone(),
            source,
        })?;
        if let Some(var) = env {
            prepared
                .env
                .push(format!("{var}={}", String::from_utf8_lossy(&content)));
        }
        if env.is_some() && target.is_none() {
            return Ok(());
        }
        let scratch = self.scratch(prepared, line)?;
        let file = scratch.join(format!("secret-{}", prepared.specs.len()));
        write_owned(&file, &content, file_info).map_err(|source| BuildError::Io {
            line,
            instruction: "RUN",
            path: file.clone(),
            source,
        })?;
        let destination = target
            .map(str::to_string)
            .unwrap_or_else(|| format!("/run/secrets/{id}"));
        prepared.specs.push(bind(&destination, file, true));
        Ok(())
    }
}

fn bind(target: &str, source: PathBuf, read_only: bool) -> SpecMount {
    let mut options = vec!["rbind".to_string()];
    options.push(if read_only { "ro" } else { "rw" }.to_string());
    SpecMount {
        destination: target.to_string(),
        kind: "bind",
        source,
        options,
    }
}

fn create_owned_dir(dir: &Path, info: &FileInfo) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(info.mode.unwrap_or(0o755)))?;
    std::os::unix::fs::chown(
        dir,
        Some(info.uid.unwrap_or(0)),
        Some(info.gid.unwrap_or(0)),
    )
}

fn write_owned(file: &Path, content: &[u8], info: &FileInfo) -> std::io::Result<()> {
    fs::write(file, content)?;
    fs::set_permissions(file, fs::Permissions::from_mode(info.mode.unwrap_or(0o400)))?;
    std::os::unix::fs::chown(
        file,
        Some(info.uid.unwrap_or(0)),
        Some(info.gid.unwrap_or(0)),
    )
}

/// An exclusive lock on the cache dir for as long as the file stays open.
fn lock(dir: &Path) -> std::io::Result<fs::File> {
    let file = fs::File::open(dir)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(file)
}

/// A writable view of `path` whose writes are thrown away: an overlay over a directory, a
/// copy of a file.
fn writable_copy(
    path: &Path,
    scratch: &Path,
    overlays: &mut Vec<MountGuard>,
) -> std::io::Result<PathBuf> {
    let n = overlays.len() + scratch.read_dir()?.count();
    if !path.is_dir() {
        let copy = scratch.join(format!("file-{n}"));
        fs::copy(path, &copy)?;
        return Ok(copy);
    }
    let base = scratch.join(format!("overlay-{n}"));
    let (upper, work, merged) = (base.join("upper"), base.join("work"), base.join("merged"));
    for dir in [&upper, &work, &merged] {
        fs::create_dir_all(dir)?;
    }
    let mount = FsMount {
        fs_type: "overlay".to_string(),
        source: PathBuf::from("overlay"),
        options: vec![
            format!("lowerdir={}", path.display()),
            format!("upperdir={}", upper.display()),
            format!("workdir={}", work.display()),
        ],
    };
    overlays.push(MountGuard::mount(&mount, &merged)?);
    Ok(merged)
}
