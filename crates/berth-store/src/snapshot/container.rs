//! Container snapshots: a writable layer over an image's chain (overlay upper + work dirs, or a
//! flattened copy for the copy driver), recorded under the caller's key.

use std::fs;
use std::path::{Path, PathBuf};

use berth_oci::Digest;

use super::{
    ActiveRecord, Driver, MAX_MOUNT_DATA, Mount, MountGuard, SnapshotError, Snapshotter, active,
    copy, overlay_supported,
};
use crate::fsutil;

impl Snapshotter {
    /// Creates a writable container snapshot `key` on top of `parent` and returns how to mount it.
    pub fn prepare(
        &self,
        key: &str,
        parent: Option<&Digest>,
        driver: Driver,
    ) -> Result<Mount, SnapshotError> {
        if driver == Driver::Overlay && !overlay_supported() {
            return Err(SnapshotError::OverlayUnavailable);
        }
        let (id, lowers) = {
            let mut index = self.lock();
            if index.active.contains_key(key) {
                return Err(SnapshotError::KeyExists {
                    key: key.to_owned(),
                });
            }
            let lowers = match parent {
                Some(parent) => {
                    let chain =
                        index
                            .chain(parent)
                            .ok_or_else(|| SnapshotError::ParentMissing {
                                chain_id: parent.clone(),
                            })?;
                    chain.iter().map(|(_, r)| self.fs_dir(r.id)).collect()
                }
                None => Vec::new(),
            };
            (index.allocate_id(), lowers)
        };
        let dir = self.dir(id);
        let record = ActiveRecord {
            id,
            parent: parent.cloned(),
            driver,
        };
        // Build (and so validate) the mount before creating anything on disk.
        let mount = self.mount_for(&record, lowers.clone())?;
        let made = self
            .make_container_dirs(key, &dir, &lowers, driver)
            .and_then(|()| {
                let mut index = self.lock();
                if index.active.contains_key(key) {
                    return Err(SnapshotError::KeyExists {
                        key: key.to_owned(),
                    });
                }
                active::write(&dir, key, &record).map_err(|source| SnapshotError::Io {
                    path: dir.clone(),
                    source,
                })?;
                index.active.insert(key.to_owned(), record.clone());
                Ok(())
            });
        if let Err(e) = made {
            let _ = fsutil::remove_any(&dir);
            return Err(e);
        }
        Ok(mount)
    }

    fn make_container_dirs(
        &self,
        key: &str,
        dir: &Path,
        lowers: &[PathBuf],
        driver: Driver,
    ) -> Result<(), SnapshotError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Io { path, source }
        };
        let fs_dir = dir.join("fs");
        fs::create_dir_all(&fs_dir).map_err(io_err(&fs_dir))?;
        match driver {
            Driver::Overlay => fs::create_dir(dir.join("work")).map_err(io_err(dir))?,
            Driver::Copy => {
                for lower in lowers.iter().rev() {
                    copy::merge_layer(lower, &fs_dir).map_err(|source| SnapshotError::Copy {
                        key: key.to_owned(),
                        source,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn mount_for(
        &self,
        record: &ActiveRecord,
        lowers: Vec<PathBuf>,
    ) -> Result<Mount, SnapshotError> {
        let dir = self.dir(record.id);
        if record.driver == Driver::Copy || lowers.is_empty() {
            return Ok(Mount {
                fs_type: "bind".into(),
                source: dir.join("fs"),
                options: vec!["rbind".into(), "rw".into()],
            });
        }
        let upper = dir.join("fs");
        let work = dir.join("work");
        for path in lowers.iter().chain([&upper, &work]) {
            let text = path.to_string_lossy();
            if text.contains(':') || text.contains(',') {
                return Err(SnapshotError::UnsafeOverlayPath { path: path.clone() });
            }
        }
        let lowerdir = lowers
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(":");
        let options = vec![
            // index=off: layers are shared read-only lowers; inode index is not needed.
            "index=off".to_owned(),
            format!("lowerdir={lowerdir}"),
            format!("upperdir={}", upper.display()),
            format!("workdir={}", work.display()),
        ];
        let len = options.join(",").len();
        if len > MAX_MOUNT_DATA {
            return Err(SnapshotError::OptionsTooLong {
                len,
                layers: lowers.len(),
            });
        }
        Ok(Mount {
            fs_type: "overlay".into(),
            source: PathBuf::from("overlay"),
            options,
        })
    }

    /// How to mount an existing container snapshot.
    pub fn mounts(&self, key: &str) -> Result<Mount, SnapshotError> {
        let (record, lowers) = {
            let index = self.lock();
            let record = Snapshotter::active_record(&index, key)?;
            let lowers = match &record.parent {
                Some(parent) => index
                    .chain(parent)
                    .ok_or_else(|| SnapshotError::ParentMissing {
                        chain_id: parent.clone(),
                    })?
                    .iter()
                    .map(|(_, r)| self.fs_dir(r.id))
                    .collect(),
                None => Vec::new(),
            };
            (record, lowers)
        };
        self.mount_for(&record, lowers)
    }

    /// Mounts container snapshot `key` at `target`; the guard unmounts it when dropped.
    pub fn mount(&self, key: &str, target: &Path) -> Result<MountGuard, SnapshotError> {
        let mount = self.mounts(key)?;
        MountGuard::mount(&mount, target).map_err(|source| SnapshotError::Io {
            path: target.to_path_buf(),
            source,
        })
    }

    /// Removes container snapshot `key` (it must be unmounted).
    pub fn remove(&self, key: &str) -> Result<(), SnapshotError> {
        let dir = self.forget_active(key)?;
        fsutil::remove_any(&dir).map_err(|source| SnapshotError::Io { path: dir, source })
    }

    /// As [`Snapshotter::remove`], but the files are removed by another thread;
    /// [`Snapshotter::settle`] waits for it. A crash meanwhile leaves an unrecorded directory,
    /// which [`Snapshotter::open`] removes.
    pub fn remove_in_background(&self, key: &str) -> Result<(), SnapshotError> {
        let dir = self.forget_active(key)?;
        let removal = std::thread::Builder::new()
            .name("snapshot-rm".into())
            .spawn({
                let dir = dir.clone();
                move || {
                    if let Err(error) = fsutil::remove_any(&dir) {
                        tracing::warn!(dir = %dir.display(), %error, "removing a snapshot failed");
                    }
                }
            });
        match removal {
            Ok(handle) => self.removing().push(handle),
            // No thread: removed here.
            Err(_) => fsutil::remove_any(&dir)
                .map_err(|source| SnapshotError::Io { path: dir, source })?,
        }
        Ok(())
    }

    /// Drops container snapshot `key`'s records (index, then its `active.json`, so a crash
    /// leaves an unknown directory, never a half-removed snapshot) and returns its directory.
    fn forget_active(&self, key: &str) -> Result<std::path::PathBuf, SnapshotError> {
        let record = self
            .lock()
            .active
            .remove(key)
            .ok_or_else(|| SnapshotError::KeyMissing {
                key: key.to_owned(),
            })?;
        let dir = self.dir(record.id);
        active::unlink(&dir).map_err(|source| SnapshotError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Waits until the removals [`Snapshotter::remove_in_background`] started are done.
    pub fn settle(&self) {
        let pending = std::mem::take(&mut *self.removing());
        for handle in pending {
            let _ = handle.join();
        }
    }

    fn removing(&self) -> std::sync::MutexGuard<'_, Vec<std::thread::JoinHandle<()>>> {
        self.removing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Snapshotter {
    fn drop(&mut self) {
        self.settle();
    }
}
