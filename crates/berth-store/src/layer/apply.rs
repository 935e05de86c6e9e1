//! Applies one layer tar into an empty directory in overlay format, in one streaming pass:
//! decompress → hash (diffID) → extract. Whiteouts become overlay whiteouts (a 0:0 character
//! device) and opaque markers become `trusted.overlay.opaque=y`, so the directory can be used
//! directly as an overlay lowerdir; the copy snapshotter interprets the same markers.
//!
//! We do not use `tar::Entry::unpack`: our rules differ (no following of symlinks anywhere, no
//! absolute names, hard links only to files already extracted in this layer, explicit ordering
//! of chown → chmod → xattrs → times).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

use berth_oci::Digest;
use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid, XattrFlags};

use super::LayerError;
use super::decompress::STREAM_BUFFER;
use super::meta::EntryMeta;
use super::pipeline;
use super::safe_dir::{self, clean_components, file_type_at, open_dir_beneath, remove_at};

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// Other `.wh..wh.` names are AUFS bookkeeping (e.g. `.wh..wh.plnk`), never content.
const AUFS_META_PREFIX: &str = ".wh..wh.";
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// What applying a layer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// Sum of regular file sizes and symlink target lengths: what Docker reports as a
    /// layer's size (the lstat sizes of what the layer created, each inode once).
    pub content_size: u64,
}

/// Extracts the (possibly compressed) layer `stream` into `root`, which must be an existing dir.
pub fn apply_layer(stream: impl Read + Send, root: &Path) -> Result<Applied, LayerError> {
    let root_fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LayerError::Io {
        entry: root.display().to_string(),
        op: "open layer root",
        source: e.into(),
    })?;
    let (content_size, produced) =
        pipeline::with_decompressed_stream(stream, |tar_stream| extract(tar_stream, root_fd))?;
    Ok(Applied {
        diff_id: produced.diff_id,
        tar_size: produced.tar_size,
        content_size,
    })
}

/// Extracts every entry, then reads the stream to its end (tar padding) so all of it is hashed.
fn extract(tar_stream: &mut dyn Read, root: OwnedFd) -> Result<u64, LayerError> {
    let mut archive = tar::Archive::new(tar_stream);
    let mut extractor = Extractor {
        root,
        dir_times: Vec::new(),
        content_size: 0,
        cached_parent: None,
        last_entry: None,
        buffer: vec![0u8; STREAM_BUFFER],
    };
    let entries = archive.entries().map_err(|source| LayerError::Read {
        entry: None,
        source,
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|source| LayerError::Read {
            entry: extractor.last_name(),
            source,
        })?;
        extractor.apply_entry(&mut entry)?;
    }
    extractor.finish_dir_times()?;
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|source| LayerError::Read {
        entry: extractor.last_name(),
        source,
    })?;
    Ok(extractor.content_size)
}

struct Extractor {
    root: OwnedFd,
    /// Directory mtimes are set at the end, children first, since creating a child changes them.
    dir_times: Vec<(Vec<OsString>, rustix::fs::Timespec)>,
    content_size: u64,
    /// Layers list a directory's entries together; reuse the last parent fd.
    cached_parent: Option<(Vec<OsString>, Rc<OwnedFd>)>,
    /// For errors that happen between entries (a truncated or corrupt stream).
    last_entry: Option<String>,
    /// One large copy buffer for all file contents (io::copy would use 8 KiB).
    buffer: Vec<u8>,
}

impl Extractor {
    fn last_name(&self) -> Option<String> {
        self.last_entry.as_ref().map(|e| format!("after {e}"))
    }

    fn apply_entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), LayerError> {
        let raw_path = entry.path_bytes().into_owned();
        let name_for_errors = String::from_utf8_lossy(&raw_path).into_owned();
        self.last_entry = Some(name_for_errors.clone());
        let read_err = |source| LayerError::Read {
            entry: Some(name_for_errors.clone()),
            source,
        };
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let components =
            clean_components(Path::new(OsStr::from_bytes(&raw_path))).map_err(|problem| {
                LayerError::UnsafePath {
                    entry: name_for_errors.clone(),
                    reason: problem.describe(),
                }
            })?;
        let meta = EntryMeta::read(entry).map_err(read_err)?;
        let Some((name, parents)) = components.split_last() else {
            // The layer root itself (`./`): only its metadata matters.
            return self.apply_root_meta(&meta, &name_for_errors);
        };
        let io_err = |op: &'static str| {
            let entry = name_for_errors.clone();
            move |source: io::Error| LayerError::Io { entry, op, source }
        };
        let parent = self.parent(parents, &name_for_errors)?;
        let name_bytes = name.as_bytes();
        if name_bytes.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.apply_whiteout(&parent, name_bytes, &name_for_errors);
        }
        match kind {
            tar::EntryType::Directory => {
                if file_type_at(&parent, name).map_err(io_err("stat"))? != Some(FileType::Directory)
                {
                    remove_at(&parent, name).map_err(io_err("remove existing"))?;
                    rustix::fs::mkdirat(&parent, name.as_os_str(), Mode::from_raw_mode(0o700))
                        .map_err(|e| io_err("mkdir")(e.into()))?;
                }
                let dir = open_nofollow(&parent, name, OFlags::RDONLY | OFlags::DIRECTORY)
                    .map_err(io_err("open dir"))?;
                set_owner_mode_xattrs(&dir, &meta).map_err(io_err("set metadata"))?;
                self.dir_times.push((components.clone(), meta.mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let create = || {
                    rustix::fs::openat(
                        &*parent,
                        name.as_os_str(),
                        OFlags::WRONLY
                            | OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )
                };
                // Most entries are new: try first, and remove what is there only if needed.
                let fd = match create() {
                    Err(rustix::io::Errno::EXIST) => {
                        remove_at(&parent, name).map_err(io_err("remove existing"))?;
                        create()
                    }
                    other => other,
                }
                .map_err(|e| io_err("create file")(e.into()))?;
                let mut file = File::from(fd);
                let written = copy_sparse(entry, &mut file, &mut self.buffer).map_err(read_err)?;
                self.content_size += written;
                set_owner_mode_xattrs(&file, &meta).map_err(io_err("set metadata"))?;
                rustix::fs::futimens(&file, &times(&meta))
                    .map_err(|e| io_err("set mtime")(e.into()))?;
            }
            tar::EntryType::Symlink => {
                let target =
                    entry
                        .link_name_bytes()
                        .ok_or_else(|| LayerError::MissingLinkTarget {
                            entry: name_for_errors.clone(),
                        })?;
                remove_at(&parent, name).map_err(io_err("remove existing"))?;
                rustix::fs::symlinkat(OsStr::from_bytes(&target), &parent, name.as_os_str())
                    .map_err(|e| io_err("symlink")(e.into()))?;
                // Docker's layer size counts a symlink as its target's length (lstat size).
                self.content_size += target.len() as u64;
                self.finish_special(&parent, name, &meta, false)
                    .map_err(io_err("set metadata"))?;
            }
            tar::EntryType::Link => {
                let target =
                    entry
                        .link_name_bytes()
                        .ok_or_else(|| LayerError::MissingLinkTarget {
                            entry: name_for_errors.clone(),
                        })?;
                self.hard_link(&parent, name, &target, &name_for_errors)?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                // FIFOs carry no device numbers; some writers leave those fields empty.
                let (major, minor) = if kind == tar::EntryType::Fifo {
                    (0, 0)
                } else {
                    let header = entry.header();
                    (
                        header.device_major().map_err(read_err)?.unwrap_or(0),
                        header.device_minor().map_err(read_err)?.unwrap_or(0),
                    )
                };
                let file_type = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                remove_at(&parent, name).map_err(io_err("remove existing"))?;
                rustix::fs::mknodat(
                    &parent,
                    name.as_os_str(),
                    file_type,
                    Mode::from_raw_mode(0o600),
                    rustix::fs::makedev(major, minor),
                )
                .map_err(|e| io_err("mknod")(e.into()))?;
                self.finish_special(&parent, name, &meta, true)
                    .map_err(io_err("set metadata"))?;
            }
            other => {
                return Err(LayerError::UnsupportedEntryType {
                    entry: name_for_errors,
                    kind: other.as_byte(),
                });
            }
        }
        Ok(())
    }

    fn parent(&mut self, parents: &[OsString], entry: &str) -> Result<Rc<OwnedFd>, LayerError> {
        if let Some((cached, fd)) = &self.cached_parent
            && cached.as_slice() == parents
        {
            return Ok(fd.clone());
        }
        let fd = open_dir_beneath(&self.root, parents, true).map_err(|source| {
            // RESOLVE_NO_SYMLINKS reports ELOOP for a symlink, RESOLVE_BENEATH EXDEV for an escape.
            let refused = [rustix::io::Errno::LOOP, rustix::io::Errno::XDEV]
                .iter()
                .any(|errno| source.raw_os_error() == Some(errno.raw_os_error()));
            if refused {
                LayerError::SymlinkInPath {
                    entry: entry.to_owned(),
                }
            } else {
                LayerError::Io {
                    entry: entry.to_owned(),
                    op: "open parent directory",
                    source,
                }
            }
        })?;
        let fd = Rc::new(fd);
        self.cached_parent = Some((parents.to_vec(), fd.clone()));
        Ok(fd)
    }

    fn apply_whiteout(
        &mut self,
        parent: &OwnedFd,
        name: &[u8],
        entry: &str,
    ) -> Result<(), LayerError> {
        let io_err = |op: &'static str| {
            move |source: io::Error| LayerError::Io {
                entry: entry.to_owned(),
                op,
                source,
            }
        };
        if name == OPAQUE_MARKER.as_bytes() {
            let dir = reopen_dir(parent).map_err(io_err("open opaque dir"))?;
            rustix::fs::fsetxattr(&dir, OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| io_err("set trusted.overlay.opaque")(e.into()))?;
            return Ok(());
        }
        if name.starts_with(AUFS_META_PREFIX.as_bytes()) {
            return Ok(());
        }
        let hidden = OsStr::from_bytes(&name[WHITEOUT_PREFIX.len()..]);
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            return Err(LayerError::UnsafePath {
                entry: entry.to_owned(),
                reason: "is a whiteout for no name",
            });
        }
        remove_at(parent, hidden).map_err(io_err("remove whited-out entry"))?;
        rustix::fs::mknodat(
            parent,
            hidden,
            FileType::CharacterDevice,
            Mode::empty(),
            rustix::fs::makedev(0, 0),
        )
        .map_err(|e| io_err("create overlay whiteout")(e.into()))
    }

    fn hard_link(
        &mut self,
        parent: &OwnedFd,
        name: &OsString,
        target: &[u8],
        entry: &str,
    ) -> Result<(), LayerError> {
        let escape = |reason: &'static str| LayerError::HardLinkEscape {
            entry: entry.to_owned(),
            target: String::from_utf8_lossy(target).into_owned(),
            reason,
        };
        let components = clean_components(Path::new(OsStr::from_bytes(target)))
            .map_err(|p| escape(p.describe()))?;
        let Some((target_name, target_parents)) = components.split_last() else {
            return Err(escape("names the layer root"));
        };
        let target_parent = open_dir_beneath(&self.root, target_parents, false)
            .map_err(|_| escape("has a parent that is missing or a symlink"))?;
        match file_type_at(&target_parent, target_name) {
            Ok(Some(FileType::Directory)) => return Err(escape("is a directory")),
            Ok(Some(_)) => {}
            _ => {
                return Err(LayerError::HardLinkTargetMissing {
                    entry: entry.to_owned(),
                    target: String::from_utf8_lossy(target).into_owned(),
                });
            }
        }
        remove_at(parent, name).map_err(|source| LayerError::Io {
            entry: entry.to_owned(),
            op: "remove existing",
            source,
        })?;
        rustix::fs::linkat(
            &target_parent,
            target_name.as_os_str(),
            parent,
            name.as_os_str(),
            AtFlags::empty(),
        )
        .map_err(|e| LayerError::Io {
            entry: entry.to_owned(),
            op: "hard link",
            source: e.into(),
        })
    }

    /// Owner, mode and time for symlinks, devices and FIFOs, set by name without following.
    fn finish_special(
        &self,
        parent: &OwnedFd,
        name: &OsStr,
        meta: &EntryMeta,
        set_mode: bool,
    ) -> io::Result<()> {
        rustix::fs::chownat(
            parent,
            name,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
        if set_mode {
            // Not a symlink (we just made it), so following is harmless; chmodat has no NOFOLLOW.
            rustix::fs::chmodat(
                parent,
                name,
                Mode::from_raw_mode(meta.mode),
                AtFlags::empty(),
            )?;
        }
        rustix::fs::utimensat(parent, name, &times(meta), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    fn apply_root_meta(&mut self, meta: &EntryMeta, entry: &str) -> Result<(), LayerError> {
        set_owner_mode_xattrs(&self.root, meta).map_err(|source| LayerError::Io {
            entry: entry.to_owned(),
            op: "set root metadata",
            source,
        })?;
        self.dir_times.push((Vec::new(), meta.mtime));
        Ok(())
    }

    fn finish_dir_times(&mut self) -> Result<(), LayerError> {
        self.cached_parent = None;
        // Deepest first, so setting a child's time never disturbs a parent already set.
        let mut dirs = std::mem::take(&mut self.dir_times);
        dirs.sort_by_key(|(components, _)| std::cmp::Reverse(components.len()));
        for (components, mtime) in dirs {
            let entry = safe_dir::join(&components).display().to_string();
            let io_err = |source: io::Error| LayerError::Io {
                entry: entry.clone(),
                op: "set directory mtime",
                source,
            };
            let ts = Timestamps {
                last_access: mtime,
                last_modification: mtime,
            };
            let dir = open_dir_beneath(&self.root, &components, false).map_err(io_err)?;
            let dir = reopen_dir(&dir).map_err(io_err)?;
            rustix::fs::futimens(&dir, &ts).map_err(|e| io_err(e.into()))?;
        }
        Ok(())
    }
}

/// Copies the entry's bytes into `writer`, leaving holes where whole reads are zeros (a
/// zero-filled file costs neither writes nor disk; reading a hole gives zeros all the same).
fn copy_sparse(reader: &mut impl Read, writer: &mut File, buffer: &mut [u8]) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom, Write};
    let mut total = 0u64;
    let mut ends_in_hole = false;
    loop {
        let n = match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buffer[..n];
        ends_in_hole = n >= HOLE_MIN && is_all_zero(chunk);
        if ends_in_hole {
            writer.seek(SeekFrom::Current(n as i64))?;
        } else {
            writer.write_all(chunk)?;
        }
        total += n as u64;
    }
    if ends_in_hole {
        writer.set_len(total)?;
    }
    Ok(total)
}

/// Zero runs shorter than a block are written: a hole saves nothing there.
const HOLE_MIN: usize = 4096;

fn is_all_zero(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(64);
    // OR-folding fixed blocks vectorizes; data that is not zero fails in the first block.
    let zero_blocks = blocks.all(|block| block.iter().fold(0u8, |acc, b| acc | b) == 0);
    zero_blocks && blocks.remainder().iter().all(|b| *b == 0)
}

fn times(meta: &EntryMeta) -> Timestamps {
    Timestamps {
        last_access: meta.mtime,
        last_modification: meta.mtime,
    }
}

fn open_nofollow(parent: &OwnedFd, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        parent,
        name,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Turns an `O_PATH` directory fd into a readable one (needed for fchmod, fsetxattr, futimens).
fn reopen_dir(dir: &OwnedFd) -> io::Result<OwnedFd> {
    open_nofollow(dir, OsStr::new("."), OFlags::RDONLY | OFlags::DIRECTORY)
}

/// chown, then chmod (chown clears setuid/setgid), then xattrs (chown clears security.capability).
fn set_owner_mode_xattrs(fd: impl std::os::fd::AsFd, meta: &EntryMeta) -> io::Result<()> {
    let fd = fd.as_fd();
    rustix::fs::fchown(
        fd,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode))?;
    for (name, value) in &meta.xattrs {
        rustix::fs::fsetxattr(fd, name.as_str(), value, XattrFlags::empty()).map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("setting xattr {name}: {e}"),
            )
        })?;
    }
    Ok(())
}
