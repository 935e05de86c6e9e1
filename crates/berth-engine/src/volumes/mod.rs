//! Volumes with Docker's local driver: `<data_root>/volumes/<name>/_data` holds the data,
//! `<name>/volume.json` the metadata. Which containers use which volume is recorded per
//! container under `<data_root>/volumes/_containers/<id>.json` (the mounts `resolve_mounts`
//! gave it), so "in use" survives a daemon restart and `rm -v` knows what to release.

mod copy_up;
mod error;
mod local_mount;
mod meta;
mod ops;
mod parse;
mod propagation;
mod resolve;
mod size;
mod usage;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bollard_stubs::models::MountPoint;

pub use error::VolumeError;
pub use meta::{
    ANONYMOUS_LABEL, LOCAL_DRIVER, VolumeMeta, generate_name, validate_name, validate_options,
};
pub use ops::{PruneReport, VolumeFilters};
pub use resolve::ResolvedMount;

/// Per-container mount records live here; `_` cannot start a volume name.
const USERS_DIR: &str = "_containers";

/// What a create asks for (Docker's `VolumeCreateOptions`).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: HashMap<String, String>,
    pub labels: HashMap<String, String>,
}

pub struct Volumes {
    root: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    volumes: BTreeMap<String, VolumeMeta>,
    /// Container ID → the mounts it was given.
    users: BTreeMap<String, Vec<MountPoint>>,
}

impl Volumes {
    /// Loads every volume and mount record under `root` (creating it). Entries that are not
    /// volumes, or whose metadata is unreadable, are skipped with a warning.
    pub fn open(root: &Path) -> Result<Volumes, VolumeError> {
        let users_dir = root.join(USERS_DIR);
        std::fs::create_dir_all(&users_dir).map_err(VolumeError::io("creating", &users_dir))?;
        let mut inner = Inner::default();
        let entries = std::fs::read_dir(root).map_err(VolumeError::io("reading", root))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if validate_name(&name).is_err() {
                continue;
            }
            match read_json::<VolumeMeta>(&entry.path().join(meta::META_FILE)) {
                Ok(meta) if meta.name == name => {
                    inner.volumes.insert(name, meta);
                }
                Ok(_) => tracing::warn!(volume = %name, "metadata names another volume; skipped"),
                Err(e) => tracing::warn!(volume = %name, error = %e, "skipping volume"),
            }
        }
        for entry in std::fs::read_dir(&users_dir)
            .map_err(VolumeError::io("reading", &users_dir))?
            .flatten()
        {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = file.strip_suffix(".json") else {
                continue;
            };
            match read_json::<Vec<MountPoint>>(&entry.path()) {
                Ok(points) => {
                    inner.users.insert(id.to_string(), points);
                }
                Err(e) => tracing::warn!(container = %id, error = %e, "skipping mount record"),
            }
        }
        Ok(Volumes {
            root: root.to_path_buf(),
            inner: Mutex::new(inner),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory a volume's data lives in (and containers bind-mount).
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.root.join(name).join(meta::DATA_DIR)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Result<VolumeMeta, VolumeError> {
        self.lock()
            .volumes
            .get(name)
            .cloned()
            .ok_or_else(|| VolumeError::NotFound {
                name: name.to_string(),
            })
    }

    pub fn list(&self) -> Vec<VolumeMeta> {
        self.lock().volumes.values().cloned().collect()
    }

    /// Creates a volume, or returns the existing one of that name (as Docker does) unless it
    /// has another driver. The flag says whether it is new.
    pub fn create(&self, options: CreateOptions) -> Result<(VolumeMeta, bool), VolumeError> {
        let mut inner = self.lock();
        self.create_locked(&mut inner, options)
    }

    fn create_locked(
        &self,
        inner: &mut Inner,
        options: CreateOptions,
    ) -> Result<(VolumeMeta, bool), VolumeError> {
        let driver = match options.driver.as_deref() {
            None | Some("") | Some(LOCAL_DRIVER) => LOCAL_DRIVER.to_string(),
            Some(other) => {
                return Err(VolumeError::UnknownDriver {
                    driver: other.to_string(),
                });
            }
        };
        let name = match options.name.filter(|n| !n.is_empty()) {
            Some(name) => name,
            None => generate_name(),
        };
        validate_name(&name)?;
        if let Some(existing) = inner.volumes.get(&name) {
            if existing.driver != driver {
                return Err(VolumeError::DriverConflict {
                    name,
                    existing: existing.driver.clone(),
                    wanted: driver,
                });
            }
            return Ok((existing.clone(), false));
        }
        validate_options(&options.driver_opts)?;
        let meta = VolumeMeta {
            name: name.clone(),
            driver,
            created_at: berth_oci::time::format_rfc3339(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0),
            ),
            labels: options.labels,
            options: options.driver_opts,
        };
        let dir = self.root.join(&name);
        let data = dir.join(meta::DATA_DIR);
        std::fs::create_dir_all(&data).map_err(VolumeError::io("creating", &data))?;
        let meta_path = dir.join(meta::META_FILE);
        let bytes = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        if let Err(e) = berth_fsutil::write_atomic(&meta_path, &bytes, 0o600) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(VolumeError::Io {
                what: "writing",
                path: meta_path,
                source: e,
            });
        }
        inner.volumes.insert(name, meta.clone());
        Ok((meta, true))
    }

    /// The containers whose mounts name this volume.
    pub fn users_of(&self, name: &str) -> Vec<String> {
        users_of(&self.lock(), name)
    }

    /// The mounts recorded for a container (inspect's `Mounts`, `--volumes-from`).
    pub fn mounts_of(&self, container_id: &str) -> Vec<MountPoint> {
        self.lock()
            .users
            .get(container_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Removes a volume nobody uses; `force` ignores a missing volume (never one in use).
    pub fn remove(&self, name: &str, force: bool) -> Result<bool, VolumeError> {
        let mut inner = self.lock();
        if !inner.volumes.contains_key(name) {
            return if force {
                Ok(false)
            } else {
                Err(VolumeError::NotFound {
                    name: name.to_string(),
                })
            };
        }
        let users = users_of(&inner, name);
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: users,
            });
        }
        self.remove_locked(&mut inner, name)?;
        Ok(true)
    }

    fn remove_locked(&self, inner: &mut Inner, name: &str) -> Result<(), VolumeError> {
        let dir = self.root.join(name);
        local_mount::deactivate(&dir.join(meta::DATA_DIR));
        // The metadata goes first: a crash mid-removal leaves a directory that is no volume.
        match std::fs::remove_file(dir.join(meta::META_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(VolumeError::io("removing", dir.join(meta::META_FILE))(e)),
        }
        inner.volumes.remove(name);
        std::fs::remove_dir_all(&dir).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(VolumeError::io("removing", &dir)(e))
            }
        })
    }

    /// Records the mounts a container was given (replacing earlier ones). A container with
    /// none (the common case) costs no file.
    fn set_users(
        &self,
        inner: &mut Inner,
        container_id: &str,
        points: Vec<MountPoint>,
    ) -> Result<(), VolumeError> {
        if points.is_empty() {
            self.take_users(inner, container_id)?;
            return Ok(());
        }
        let path = self.users_path(container_id);
        let bytes = serde_json::to_vec(&points).unwrap_or_default();
        berth_fsutil::write_atomic(&path, &bytes, 0o600)
            .map_err(VolumeError::io("writing", &path))?;
        inner.users.insert(container_id.to_string(), points);
        Ok(())
    }

    /// Forgets a container's mounts, returning them.
    fn take_users(
        &self,
        inner: &mut Inner,
        container_id: &str,
    ) -> Result<Vec<MountPoint>, VolumeError> {
        let path = self.users_path(container_id);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(VolumeError::io("removing", &path)(e)),
        }
        Ok(inner.users.remove(container_id).unwrap_or_default())
    }

    /// Drops the records of containers that no longer exist (removed while the daemon was
    /// down, or a create that crashed half-way).
    pub fn forget_missing(&self, exists: impl Fn(&str) -> bool) {
        let mut inner = self.lock();
        let gone: Vec<String> = inner
            .users
            .keys()
            .filter(|id| !exists(id))
            .cloned()
            .collect();
        for id in gone {
            if let Err(e) = self.take_users(&mut inner, &id) {
                tracing::warn!(container = %id, error = %e, "forgetting a removed container's mounts");
            }
        }
    }

    fn users_path(&self, container_id: &str) -> PathBuf {
        self.root
            .join(USERS_DIR)
            .join(format!("{container_id}.json"))
    }
}

fn users_of(inner: &Inner, name: &str) -> Vec<String> {
    inner
        .users
        .iter()
        .filter(|(_, points)| {
            points
                .iter()
                .any(|p| p.typ.as_deref() == Some("volume") && p.name.as_deref() == Some(name))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, VolumeError> {
    let bytes = std::fs::read(path).map_err(VolumeError::io("reading", path))?;
    serde_json::from_slice(&bytes).map_err(|source| VolumeError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}
