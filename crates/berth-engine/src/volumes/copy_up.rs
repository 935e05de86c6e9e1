//! Docker's copy-up: an empty volume mounted where the image has content gets a copy of that
//! content first (files, directories, symlinks, device nodes, hard links; owners, modes,
//! xattrs and times kept), so `-v data:/var/lib/app` starts with what the image put there.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, ResolveFlags, Timestamps};

use super::VolumeError;

/// Copies `rootfs`'s content at `destination` into `data` when `data` is empty. The
/// destination is resolved inside the rootfs (its symlinks cannot lead out of it). Returns
/// whether anything was copied.
pub fn populate(rootfs: &Path, destination: &str, data: &Path) -> Result<bool, VolumeError> {
    let copy_err = |source: std::io::Error| VolumeError::CopyUp {
        path: PathBuf::from(destination),
        source,
    };
    let mut entries = std::fs::read_dir(data).map_err(VolumeError::io("reading", data))?;
    if entries.next().is_some() {
        return Ok(false);
    }
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| VolumeError::io("opening", rootfs)(e.into()))?;
    let relative: PathBuf = Path::new(destination)
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let source = match rustix::fs::openat2(
        &root,
        &relative,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(false),
        Err(e) => return Err(copy_err(e.into())),
    };
    // The kernel resolved the path safely; below it we never follow a symlink.
    let source_dir = PathBuf::from(format!("/proc/self/fd/{}", source.as_raw_fd()));
    let mut copier = Copier::default();
    copier.tree(&source_dir, data).map_err(copy_err)?;
    copy_attributes(
        &source_dir,
        data,
        &std::fs::metadata(&source_dir).map_err(copy_err)?,
    )
    .map_err(copy_err)?;
    Ok(true)
}

#[derive(Default)]
struct Copier {
    /// (dev, inode) of multiply-linked files already copied → their copy.
    links: HashMap<(u64, u64), PathBuf>,
}

impl Copier {
    fn tree(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let source = entry.path();
            let target = to.join(entry.file_name());
            let meta = source.symlink_metadata()?;
            let kind = FileType::from_raw_mode(meta.mode());
            match kind {
                FileType::Directory => {
                    std::fs::create_dir(&target)?;
                    self.tree(&source, &target)?;
                }
                FileType::Symlink => {
                    std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
                }
                FileType::RegularFile => {
                    if meta.nlink() > 1 {
                        if let Some(first) = self.links.get(&(meta.dev(), meta.ino())) {
                            std::fs::hard_link(first, &target)?;
                            continue;
                        }
                        self.links.insert((meta.dev(), meta.ino()), target.clone());
                    }
                    std::fs::copy(&source, &target)?;
                }
                FileType::Fifo
                | FileType::CharacterDevice
                | FileType::BlockDevice
                | FileType::Socket => {
                    rustix::fs::mknodat(
                        CWD,
                        &target,
                        kind,
                        Mode::from_raw_mode(meta.mode()),
                        meta.rdev(),
                    )?;
                }
                FileType::Unknown => continue,
            }
            copy_attributes(&source, &target, &meta)?;
        }
        Ok(())
    }
}

/// Owner, then mode (a chown clears set-id bits), xattrs and times; a symlink keeps its own.
fn copy_attributes(source: &Path, target: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    std::os::unix::fs::lchown(target, Some(meta.uid()), Some(meta.gid()))?;
    let symlink = meta.file_type().is_symlink();
    if !symlink {
        std::fs::set_permissions(
            target,
            std::fs::Permissions::from_mode(meta.mode() & 0o7777),
        )?;
    }
    copy_xattrs(source, target)?;
    let times = Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: meta.atime(),
            tv_nsec: meta.atime_nsec() as _,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: meta.mtime(),
            tv_nsec: meta.mtime_nsec() as _,
        },
    };
    rustix::fs::utimensat(CWD, target, &times, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

fn copy_xattrs(source: &Path, target: &Path) -> std::io::Result<()> {
    let size = match rustix::fs::llistxattr_query(source) {
        Ok(0) => return Ok(()),
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut names = vec![0u8; size];
    let len = rustix::fs::llistxattr(source, &mut names[..])?;
    for name in names[..len.min(size)]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
    {
        let name = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
        let value_len = match rustix::fs::lgetxattr_query(source, name.as_c_str()) {
            Ok(n) => n,
            Err(rustix::io::Errno::NODATA) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut value = vec![0u8; value_len];
        let got = rustix::fs::lgetxattr(source, name.as_c_str(), &mut value[..])?;
        match rustix::fs::lsetxattr(
            target,
            name.as_c_str(),
            &value[..got.min(value_len)],
            rustix::fs::XattrFlags::empty(),
        ) {
            // A namespace the volume's filesystem does not take (or may not be set here).
            Ok(()) | Err(rustix::io::Errno::NOTSUP | rustix::io::Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
