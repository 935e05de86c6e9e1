//! The volume API's operations on the engine: create, list with filters, remove, prune — each
//! publishing Docker's volume events.

use bollard_stubs::models::Volume;

use super::{CreateOptions, VolumeError, VolumeMeta, meta, size};
use crate::Engine;

/// `GET /volumes` and `POST /volumes/prune` filters, already split by key.
#[derive(Debug, Clone, Default)]
pub struct VolumeFilters {
    /// Substrings of the name (any).
    pub name: Vec<String>,
    /// `key` or `key=value` (all must match).
    pub label: Vec<String>,
    /// `key` or `key=value` (none may match; prune only).
    pub label_not: Vec<String>,
    /// Only unused (`true`) or only used (`false`) volumes.
    pub dangling: Option<bool>,
    /// Driver names (any).
    pub driver: Vec<String>,
    /// Prune: `Some(false)` keeps named volumes (API ≥ 1.42's default); 1.41 prunes all.
    pub all: Option<bool>,
}

impl VolumeFilters {
    fn matches(&self, volume: &VolumeMeta, in_use: bool) -> bool {
        let label_matches = |filter: &String| match filter.split_once('=') {
            Some((k, v)) => volume.labels.get(k).is_some_and(|have| have == v),
            None => volume.labels.contains_key(filter),
        };
        (self.name.is_empty() || self.name.iter().any(|n| volume.name.contains(n.as_str())))
            && self.label.iter().all(label_matches)
            && !self.label_not.iter().any(label_matches)
            && self.dangling.is_none_or(|d| d != in_use)
            && (self.driver.is_empty() || self.driver.contains(&volume.driver))
    }
}

#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub space_reclaimed: u64,
}

impl Engine {
    pub fn create_volume(&self, options: CreateOptions) -> Result<Volume, VolumeError> {
        let (volume, new) = self.volumes.create(options)?;
        if new {
            self.publish_volume("create", &volume.name, [("driver", volume.driver.clone())]);
        }
        Ok(volume.to_docker(&self.volumes.data_dir(&volume.name)))
    }

    pub fn inspect_volume(&self, name: &str) -> Result<Volume, VolumeError> {
        let volume = self.volumes.get(name)?;
        Ok(volume.to_docker(&self.volumes.data_dir(name)))
    }

    pub fn list_volumes(&self, filters: &VolumeFilters) -> Vec<Volume> {
        self.volumes
            .list()
            .into_iter()
            .filter(|v| filters.matches(v, !self.volumes.users_of(&v.name).is_empty()))
            .map(|v| v.to_docker(&self.volumes.data_dir(&v.name)))
            .collect()
    }

    /// `DELETE /volumes/{name}`: refused while a container uses it; `force` ignores a
    /// missing volume.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        if self.volumes.remove(name, force)? {
            self.publish_volume(
                "destroy",
                name,
                [("driver", meta::LOCAL_DRIVER.to_string())],
            );
        }
        Ok(())
    }

    /// `POST /volumes/prune`: every volume no container uses (API 1.41), or only anonymous
    /// ones when `all=false`, that passes the label filters.
    pub fn prune_volumes(&self, filters: &VolumeFilters) -> Result<PruneReport, VolumeError> {
        let mut report = PruneReport::default();
        for volume in self.volumes.list() {
            if filters.all == Some(false) && !volume.is_anonymous() {
                continue;
            }
            let unused_only = VolumeFilters {
                dangling: Some(true),
                ..filters.clone()
            };
            if !unused_only.matches(&volume, !self.volumes.users_of(&volume.name).is_empty()) {
                continue;
            }
            let bytes = size::dir_size(&self.volumes.data_dir(&volume.name));
            match self.volumes.remove(&volume.name, false) {
                Ok(_) => {
                    self.publish_volume(
                        "destroy",
                        &volume.name,
                        [("driver", volume.driver.clone())],
                    );
                    report.space_reclaimed += bytes;
                    report.deleted.push(volume.name);
                }
                // Taken into use (or removed) since the listing: not ours to prune.
                Err(VolumeError::InUse { .. } | VolumeError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.events
            .publish_prune(crate::events::Pruned::Volumes, report.space_reclaimed);
        Ok(report)
    }
}
