//! COPY/ADD into a mounted rootfs with Docker's semantics: wildcards, several sources into a
//! directory, a directory source copies its contents, `.dockerignore` for the context,
//! `--chown`/`--chmod`, mtimes kept, and ADD extracting a local tar (plain or gzip).
//! A snapshot's regular files may be hardlinked from their layer instead (`copy_link`).

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::copy_link::LinkSource;
use super::paths::{clean_relative, scoped_resolve};
use super::sources::{self, SourceMatch};
use super::users::Ids;
use crate::dockerignore::Matcher;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("source {source_path:?} not found")]
    SourceMissing { source_path: String },
    #[error("with more than one source the destination {dest:?} must end with /")]
    DestNotDir { dest: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One COPY/ADD: where sources come from and how files land.
#[derive(Debug)]
pub struct CopyRequest<'a> {
    /// The build context or another stage's rootfs.
    pub src_root: &'a Path,
    pub sources: &'a [String],
    pub dest: &'a str,
    pub workdir: &'a str,
    /// `.dockerignore` of the context (none for `--from`).
    pub ignore: Option<&'a Matcher>,
    /// `--chown`; without it context files become 0:0 and `--from` files keep their owner.
    pub owner: Option<Ids>,
    pub keep_owner: bool,
    pub chmod: Option<u32>,
    /// ADD: local tar archives are extracted instead of copied.
    pub extract_archives: bool,
    /// `--exclude`: what is left out, matched below each source.
    pub exclude: Option<&'a Matcher>,
    /// `--parents`: the sources' directories (below a `/./` pivot) are kept.
    pub parents: bool,
    /// The layer dirs (top first) of the snapshot chain mounted at `src_root`, when `rootfs`
    /// is a new layer's own upper dir on their filesystem: regular files may then be
    /// hardlinked from them (see `copy_link`). Never for files a user or a RUN may write.
    pub link_layers: Option<&'a [PathBuf]>,
}

/// Performs the copy into `rootfs`; returns how many entries were written.
pub fn copy_into(rootfs: &Path, req: &CopyRequest) -> Result<usize, CopyError> {
    let mut matched = Vec::new();
    for source in req.sources {
        let found = sources::find(req.src_root, source, req.parents);
        if found.is_empty() {
            return Err(CopyError::SourceMissing {
                source_path: source.clone(),
            });
        }
        matched.extend(found.into_iter().filter(|m| !req.excludes_match(m)));
    }
    let dest_abs = if req.dest.starts_with('/') {
        req.dest.to_string()
    } else {
        format!("{}/{}", req.workdir.trim_end_matches('/'), req.dest)
    };
    let dest_is_dir_syntax = req.dest.ends_with('/') || req.dest.ends_with("/.") || req.parents;
    if matched.len() > 1 && !dest_is_dir_syntax {
        return Err(CopyError::DestNotDir {
            dest: req.dest.to_string(),
        });
    }
    let dest = scoped_resolve(rootfs, &clean_relative(&dest_abs), true);
    let mut writer = Writer {
        req,
        written: 0,
        buffer: Vec::new(),
        link: req.link_layers.map(LinkSource::new),
    };
    for found in matched {
        let path = &found.path;
        let meta = fs::metadata(path).map_err(io_at(path))?;
        if let Some(kept) = &found.kept {
            writer.make_dirs(rootfs, &dest)?;
            writer.kept_parents(&found, kept, &dest)?;
            if kept.is_empty() {
                writer.children(path, &found.rel, &found.exclude_prefix, &dest)?;
            } else {
                let top = Top {
                    rel: &found.rel,
                    exclude: &found.exclude_prefix,
                };
                writer.entry(path, top, &dest.join(kept), &meta)?;
            }
            continue;
        }
        let into_dir = dest_is_dir_syntax || matched_len_gt1(req) || dest.is_dir();
        if meta.is_dir() {
            writer.make_dirs(rootfs, &dest)?;
            writer.children(path, &found.rel, &found.exclude_prefix, &dest)?;
        } else if req.extract_archives && is_tar(path) {
            writer.make_dirs(rootfs, &dest)?;
            writer.extract(path, &dest)?;
        } else {
            let target = if into_dir {
                let name = path.file_name().map(PathBuf::from).unwrap_or_default();
                dest.join(name)
            } else {
                dest.clone()
            };
            if let Some(parent) = target.parent() {
                writer.make_dirs(rootfs, parent)?;
            }
            let top = Top {
                rel: &found.rel,
                exclude: &found.exclude_prefix,
            };
            writer.entry(path, top, &target, &meta)?;
        }
    }
    Ok(writer.written)
}

impl CopyRequest<'_> {
    /// Whether `--exclude` leaves out a whole match.
    fn excludes_match(&self, found: &SourceMatch) -> bool {
        match (&self.exclude, &found.exclude_self) {
            (Some(exclude), Some(path)) => exclude.matches(path, found.path.is_dir()),
            _ => false,
        }
    }
}

fn matched_len_gt1(req: &CopyRequest) -> bool {
    req.sources.len() > 1
}

/// An entry's paths: relative to the source root (for `.dockerignore`) and the one
/// `--exclude` tests.
#[derive(Clone, Copy)]
struct Top<'p> {
    rel: &'p str,
    exclude: &'p str,
}

fn is_tar(path: &Path) -> bool {
    let mut head = [0u8; 262];
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    (n >= 2 && head[..2] == [0x1f, 0x8b]) || (n >= 262 && &head[257..262] == b"ustar")
}

struct Writer<'a> {
    req: &'a CopyRequest<'a>,
    written: usize,
    /// Reused for every small file.
    buffer: Vec<u8>,
    /// Where regular files may be linked from instead of copied.
    link: Option<LinkSource<'a>>,
}

impl Writer<'_> {
    fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        self.req
            .ignore
            .is_some_and(|m| m.matches(rel, is_dir) && (!is_dir || m.can_skip_dir(rel)))
    }

    fn owner_of(&self, meta: &fs::Metadata) -> Ids {
        match (self.req.owner, self.req.keep_owner) {
            (Some(ids), _) => ids,
            (None, true) => Ids {
                uid: meta.uid(),
                gid: meta.gid(),
            },
            (None, false) => Ids { uid: 0, gid: 0 },
        }
    }

    /// `mkdir -p` for the destination: new dirs 0755, owned like the copied files.
    fn make_dirs(&mut self, rootfs: &Path, dir: &Path) -> Result<(), CopyError> {
        if dir.is_dir() || dir == rootfs {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.make_dirs(rootfs, parent)?;
        }
        fs::create_dir(dir).map_err(io_at(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io_at(dir))?;
        let ids = self.req.owner.unwrap_or(Ids { uid: 0, gid: 0 });
        std::os::unix::fs::lchown(dir, Some(ids.uid), Some(ids.gid)).map_err(io_at(dir))
    }

    /// The entries of directory `src` into `dest`; `exclude` is the path `--exclude` tests
    /// for `src` ("" for a source's top).
    fn children(
        &mut self,
        src: &Path,
        rel: &str,
        exclude: &str,
        dest: &Path,
    ) -> Result<(), CopyError> {
        let mut entries: Vec<_> = fs::read_dir(src)
            .map_err(io_at(src))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        let join = |base: &str, name: &str| {
            if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}/{name}")
            }
        };
        for entry in entries {
            let (name, path) = (entry.file_name(), entry.path());
            let name_text = name.to_string_lossy();
            let child_rel = join(rel, &name_text);
            let child_exclude = join(exclude, &name_text);
            // Looked up from the open directory, not by walking the whole path again.
            let meta = entry.metadata().map_err(io_at(&path))?;
            if self.ignored(&child_rel, meta.is_dir())
                || self
                    .req
                    .exclude
                    .is_some_and(|m| m.matches(&child_exclude, meta.is_dir()))
            {
                continue;
            }
            let top = Top {
                rel: &child_rel,
                exclude: &child_exclude,
            };
            self.entry(&path, top, &dest.join(&name), &meta)?;
        }
        let meta = fs::metadata(src).map_err(io_at(src))?;
        if rel.is_empty() || !dest.exists() {
            return Ok(());
        }
        set_mtime(dest, &meta)
    }

    /// `--parents`: the directories above a kept path, made like their sources (mode, owner,
    /// mtime) where the destination lacks them.
    fn kept_parents(
        &mut self,
        found: &SourceMatch,
        kept: &str,
        dest: &Path,
    ) -> Result<(), CopyError> {
        let parts: Vec<&str> = kept.split('/').filter(|p| !p.is_empty()).collect();
        let mut target = dest.to_path_buf();
        for (depth, part) in parts.iter().enumerate().take(parts.len().saturating_sub(1)) {
            target.push(part);
            if target.is_dir() {
                continue;
            }
            // The source directory `parts.len() - 1 - depth` levels above the match.
            let Some(source) = found.path.ancestors().nth(parts.len() - 1 - depth) else {
                continue;
            };
            let meta = fs::metadata(source).map_err(io_at(source))?;
            let ids = self.owner_of(&meta);
            fs::create_dir(&target).map_err(io_at(&target))?;
            let mode = meta.mode() & 0o7777;
            std::os::unix::fs::lchown(&target, Some(ids.uid), Some(ids.gid))
                .map_err(io_at(&target))?;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(io_at(&target))?;
            set_mtime(&target, &meta)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: &Path,
        top: Top,
        dest: &Path,
        meta: &fs::Metadata,
    ) -> Result<(), CopyError> {
        let ids = self.owner_of(meta);
        let kind = meta.file_type();
        if kind.is_file() {
            let mode = self.req.chmod.unwrap_or(meta.mode() & 0o7777);
            // Most destinations are new: try that first and look at what is there only when
            // creating fails.
            match self.place_file(src, dest, ids, mode, meta) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                done => {
                    self.written += 1;
                    return done.map_err(io_at(dest));
                }
            }
        }
        if let Ok(existing) = fs::symlink_metadata(dest)
            && !(existing.is_dir() && kind.is_dir())
        {
            if existing.is_dir() {
                fs::remove_dir_all(dest).map_err(io_at(dest))?;
            } else {
                fs::remove_file(dest).map_err(io_at(dest))?;
            }
        }
        if kind.is_dir() {
            if !dest.is_dir() {
                fs::create_dir(dest).map_err(io_at(dest))?;
            }
            let mode = self.req.chmod.unwrap_or(meta.mode() & 0o7777);
            std::os::unix::fs::lchown(dest, Some(ids.uid), Some(ids.gid)).map_err(io_at(dest))?;
            fs::set_permissions(dest, fs::Permissions::from_mode(mode)).map_err(io_at(dest))?;
            self.written += 1;
            self.children(src, top.rel, top.exclude, dest)?;
            return set_mtime(dest, meta);
        }
        if kind.is_symlink() {
            let target = fs::read_link(src).map_err(io_at(src))?;
            std::os::unix::fs::symlink(&target, dest).map_err(io_at(dest))?;
        } else if kind.is_file() {
            let mode = self.req.chmod.unwrap_or(meta.mode() & 0o7777);
            self.place_file(src, dest, ids, mode, meta)
                .map_err(io_at(dest))?;
            self.written += 1;
            return Ok(());
        } else {
            tracing::warn!(path = %src.display(), "skipping a special file in COPY");
            return Ok(());
        }
        std::os::unix::fs::lchown(dest, Some(ids.uid), Some(ids.gid)).map_err(io_at(dest))?;
        self.written += 1;
        set_mtime(dest, meta)
    }

    /// Regular file `src` as `dest` (which must not exist: `AlreadyExists` otherwise) with
    /// owner `ids` and `mode`: a hardlink to the layer file behind `src` when that is
    /// exactly what the copy would make (the owner and mode unchanged, see `copy_link`),
    /// else a copy. Neither ever opens an existing destination.
    fn place_file(
        &mut self,
        src: &Path,
        dest: &Path,
        ids: Ids,
        mode: u32,
        meta: &fs::Metadata,
    ) -> io::Result<()> {
        if let Some(link) = &mut self.link
            && (ids.uid, ids.gid) == (meta.uid(), meta.gid())
            && mode == meta.mode() & 0o7777
            && let Ok(rel) = src.strip_prefix(self.req.src_root)
            && link.link(rel, meta, dest)?
        {
            return Ok(());
        }
        copy_regular(src, dest, ids, mode, meta, &mut self.buffer)
    }

    fn extract(&mut self, archive: &Path, dest: &Path) -> Result<(), CopyError> {
        let file = fs::File::open(archive).map_err(io_at(archive))?;
        let mut reader = io::BufReader::new(file);
        let gzip = {
            use io::BufRead;
            let head = reader.fill_buf().map_err(io_at(archive))?;
            head.starts_with(&[0x1f, 0x8b])
        };
        let stream: Box<dyn Read> = if gzip {
            Box::new(flate2::read::GzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        let mut tar = tar::Archive::new(stream);
        tar.set_preserve_permissions(true);
        tar.set_preserve_mtime(true);
        tar.set_preserve_ownerships(true);
        tar.set_overwrite(true);
        tar.unpack(dest).map_err(io_at(archive))?;
        self.written += 1;
        Ok(())
    }
}

/// Files up to this size are copied with one read and one write; bigger ones go through
/// `copy_file_range`, which overlayfs passes down to the layers' filesystem.
const SMALL_FILE: u64 = 256 * 1024;

/// Creates `dest` (which must not exist) as a copy of regular file `src` with owner `ids`,
/// `mode` and `meta`'s mtime, all through the new file's descriptor: one path lookup per
/// side instead of one per attribute, which through an overlay mount is what copying many
/// small files costs.
fn copy_regular(
    src: &Path,
    dest: &Path,
    ids: Ids,
    mode: u32,
    meta: &fs::Metadata,
    buffer: &mut Vec<u8>,
) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut from = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(src)?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o777)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dest)?;
    if meta.len() <= SMALL_FILE {
        buffer.clear();
        from.read_to_end(buffer)?;
        to.write_all(buffer)?;
    } else {
        io::copy(&mut from, &mut to)?;
    }
    let created = to.metadata()?;
    if (created.uid(), created.gid()) != (ids.uid, ids.gid) {
        rustix::fs::fchown(
            &to,
            Some(rustix::fs::Uid::from_raw(ids.uid)),
            Some(rustix::fs::Gid::from_raw(ids.gid)),
        )?;
    }
    // After chown, which clears setuid/setgid; the umask may have cut bits too.
    if created.mode() & 0o7777 != mode || mode & 0o7000 != 0 {
        rustix::fs::fchmod(&to, rustix::fs::Mode::from_raw_mode(mode))?;
    }
    let mtime = rustix::fs::Timespec {
        tv_sec: meta.mtime(),
        tv_nsec: meta.mtime_nsec() as _,
    };
    rustix::fs::futimens(
        &to,
        &rustix::fs::Timestamps {
            last_access: mtime,
            last_modification: mtime,
        },
    )?;
    Ok(())
}

fn set_mtime(path: &Path, meta: &fs::Metadata) -> Result<(), CopyError> {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, utimensat};
    let mtime = Timespec {
        tv_sec: meta.mtime(),
        tv_nsec: meta.mtime_nsec() as _,
    };
    let times = Timestamps {
        last_access: mtime,
        last_modification: mtime,
    };
    utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(io::Error::from)
        .map_err(io_at(path))
}
