//! `GET /system/df`'s `Volumes`: every local volume with its `UsageData` — the bytes under
//! its `_data` and how many containers reference it (running or not), as dockerd reports.

use bollard_stubs::models::{Volume, VolumeUsageData};

use super::{LOCAL_DRIVER, size};
use crate::Engine;

impl Engine {
    pub fn volumes_disk_usage(&self) -> Vec<Volume> {
        self.volumes
            .list()
            .into_iter()
            .filter(|v| v.driver == LOCAL_DRIVER)
            .map(|v| {
                let data = self.volumes.data_dir(&v.name);
                let mut volume = v.to_docker(&data);
                volume.usage_data = Some(VolumeUsageData {
                    size: size::dir_size(&data) as i64,
                    ref_count: self.volumes.users_of(&v.name).len() as i64,
                });
                volume
            })
            .collect()
    }
}
