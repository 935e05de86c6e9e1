//! The copy snapshotter's merge: flattens overlay-format layer dirs (bottom to top) into one
//! directory, interpreting overlay whiteouts (0:0 char devices) and opaque dirs like overlayfs.
//!
//! Every layer dir was extracted by us with symlinks never followed, and the merge replaces any
//! non-directory with a directory before descending, so no symlink is traversed here either.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use rustix::fs::{AtFlags, CWD, FileType, Gid, Mode, Timespec, Timestamps, Uid, XattrFlags};

use crate::fsutil::remove_any;
use crate::layer::OPAQUE_XATTR;

const OVERLAY_XATTR_PREFIX: &[u8] = b"trusted.overlay.";

/// Applies `layer` (an overlay-format layer dir) on top of `target`.
pub fn merge_layer(layer: &Path, target: &Path) -> io::Result<()> {
    let mut links = HashMap::new();
    merge_dir(layer, target, &mut links)
}

fn merge_dir(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), std::path::PathBuf>,
) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let meta = fs::symlink_metadata(&from)?;
        let kind = meta.file_type();
        if kind.is_char_device() && meta.rdev() == 0 {
            remove_any(&to)?;
            continue;
        }
        if kind.is_dir() {
            let existing = fs::symlink_metadata(&to).ok();
            match existing {
                Some(m) if m.is_dir() => {
                    if is_opaque(&from)? {
                        for child in fs::read_dir(&to)? {
                            remove_any(&child?.path())?;
                        }
                    }
                }
                Some(_) => {
                    remove_any(&to)?;
                    fs::create_dir(&to)?;
                }
                None => fs::create_dir(&to)?,
            }
            merge_dir(&from, &to, links)?;
            copy_metadata(&from, &to, &meta)?;
            continue;
        }
        remove_any(&to)?;
        if meta.nlink() > 1 {
            if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
                fs::hard_link(first, &to)?;
                continue;
            }
            links.insert((meta.dev(), meta.ino()), to.clone());
        }
        if kind.is_file() {
            fs::copy(&from, &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else {
            let file_type = FileType::from_raw_mode(meta.mode());
            rustix::fs::mknodat(CWD, &to, file_type, Mode::from_raw_mode(0o600), meta.rdev())?;
        }
        copy_metadata(&from, &to, &meta)?;
    }
    Ok(())
}

fn is_opaque(dir: &Path) -> io::Result<bool> {
    let mut buf = [0u8; 4];
    match rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut buf) {
        Ok(n) => Ok(&buf[..n] == b"y"),
        Err(rustix::io::Errno::NODATA) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Owner, then mode (chown clears setuid), then xattrs (chown clears capabilities), then times.
fn copy_metadata(from: &Path, to: &Path, meta: &fs::Metadata) -> io::Result<()> {
    let symlink = meta.file_type().is_symlink();
    rustix::fs::chownat(
        CWD,
        to,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    if !symlink {
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        copy_xattrs(from, to)?;
    }
    let mtime = Timespec {
        tv_sec: meta.mtime(),
        tv_nsec: meta.mtime_nsec(),
    };
    let atime = Timespec {
        tv_sec: meta.atime(),
        tv_nsec: meta.atime_nsec(),
    };
    rustix::fs::utimensat(
        CWD,
        to,
        &Timestamps {
            last_access: atime,
            last_modification: mtime,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

fn copy_xattrs(from: &Path, to: &Path) -> io::Result<()> {
    let mut names = vec![0u8; 4096];
    let n = match rustix::fs::llistxattr(from, &mut names[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::RANGE) => {
            names.resize(rustix::fs::llistxattr_query(from)?, 0);
            rustix::fs::llistxattr(from, &mut names[..])?
        }
        Err(e) => return Err(e.into()),
    };
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(OVERLAY_XATTR_PREFIX) {
            continue;
        }
        let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name);
        let size = rustix::fs::lgetxattr_query(from, name)?;
        let mut value = vec![0u8; size];
        let len = rustix::fs::lgetxattr(from, name, &mut value[..])?;
        rustix::fs::lsetxattr(to, name, &value[..len], XattrFlags::empty())?;
    }
    Ok(())
}
