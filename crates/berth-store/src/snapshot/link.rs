//! A layer snapshot recorded again on another parent by hard links: the files of a recorded
//! layer are never written again (overlayfs copies up, the copy driver copies), so a builder
//! that reuses a layer on a new chain gets its snapshot without unpacking the blob again.
//! Directories are made anew (each snapshot owns its directory inodes) with the same owner,
//! mode, xattrs (the overlay opaque marker included) and times.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use berth_oci::Digest;
use rustix::fs::{AtFlags, CWD, Timespec, Timestamps};

use super::copy::copy_xattrs;
use super::{LayerRecord, SnapshotError, Snapshotter, chain_id};
use crate::fsutil;

impl Snapshotter {
    /// Records layer snapshot `source`'s content as the same diff ID on top of `parent` and
    /// returns that chain ID (kept as it is when it exists already). Crash safety as in
    /// [`Snapshotter::apply_layer`]: the directory is synced before the index names it.
    pub fn link_layer(
        &self,
        source: &Digest,
        parent: Option<&Digest>,
    ) -> Result<Digest, SnapshotError> {
        let (id, record) =
            {
                let mut index = self.lock();
                let record = index.layers.get(source).cloned().ok_or_else(|| {
                    SnapshotError::LayerMissing {
                        chain_id: source.clone(),
                    }
                })?;
                if let Some(parent) = parent
                    && !index.layers.contains_key(parent)
                {
                    return Err(SnapshotError::ParentMissing {
                        chain_id: parent.clone(),
                    });
                }
                if index
                    .layers
                    .contains_key(&chain_id(parent, &record.diff_id))
                {
                    return Ok(chain_id(parent, &record.diff_id));
                }
                (index.allocate_id(), record)
            };
        let dir = self.dir(id);
        let fs_dir = dir.join("fs");
        let made = fs::create_dir_all(&dir)
            .and_then(|()| link_tree(&self.fs_dir(record.id), &fs_dir))
            .and_then(|()| fsutil::sync_filesystem(&fs_dir));
        if let Err(source) = made {
            let _ = fsutil::remove_any(&dir);
            return Err(SnapshotError::Io {
                path: fs_dir,
                source,
            });
        }
        let chain = chain_id(parent, &record.diff_id);
        let mut index = self.lock();
        if index.layers.contains_key(&chain) {
            // Made by someone else meanwhile; theirs is as good as ours.
            drop(index);
            let _ = fsutil::remove_any(&dir);
            return Ok(chain);
        }
        index.layers.insert(
            chain.clone(),
            LayerRecord {
                id,
                parent: parent.cloned(),
                diff_id: record.diff_id,
                size: record.size,
            },
        );
        if let Err(e) = self.save(&index) {
            index.layers.remove(&chain);
            drop(index);
            let _ = fsutil::remove_any(&dir);
            return Err(e);
        }
        Ok(chain)
    }
}

/// `dst` as a copy of directory `src`: subdirectories made, everything else hard-linked
/// (`link` does not follow a symlink: the link itself, or a whiteout device, is shared).
fn link_tree(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            link_tree(&entry.path(), &to)?;
        } else {
            fs::hard_link(entry.path(), &to)?;
        }
    }
    let meta = fs::symlink_metadata(src)?;
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    copy_xattrs(src, dst, true)?;
    let time = |sec, nsec| Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    };
    rustix::fs::utimensat(
        CWD,
        dst,
        &Timestamps {
            last_access: time(meta.atime(), meta.atime_nsec()),
            last_modification: time(meta.mtime(), meta.mtime_nsec()),
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}
