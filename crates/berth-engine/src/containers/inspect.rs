//! `GET /containers/{id}/json`: Docker's `ContainerInspectResponse`.

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerInspectResponse, ContainerState, ContainerStateStatusEnum, DriverData, NetworkSettings,
};

use super::ContainerError;
use super::record::{ContainerRecord, Status};
use crate::Engine;

fn state_enum(status: Status) -> ContainerStateStatusEnum {
    match status {
        Status::Created => ContainerStateStatusEnum::CREATED,
        Status::Running => ContainerStateStatusEnum::RUNNING,
        Status::Paused => ContainerStateStatusEnum::PAUSED,
        Status::Restarting => ContainerStateStatusEnum::RESTARTING,
        Status::Removing => ContainerStateStatusEnum::REMOVING,
        Status::Exited => ContainerStateStatusEnum::EXITED,
        Status::Dead => ContainerStateStatusEnum::DEAD,
    }
}

impl Engine {
    pub fn inspect_container(
        &self,
        name: &str,
        size: bool,
    ) -> Result<crate::network::ContainerInspect, ContainerError> {
        let container = self.containers.get(name)?;
        let r = container.snapshot();
        // The view adds Docker's deprecated top-level network fields (`IPAddress`, …).
        Ok(crate::network::ContainerInspect::new(
            self.inspect_record(&r, size),
        ))
    }

    fn inspect_record(&self, r: &ContainerRecord, size: bool) -> ContainerInspectResponse {
        let dir = self.paths.container(&r.id);
        let path_string = |p: std::path::PathBuf| Some(p.to_string_lossy().into_owned());
        let s = &r.state;
        ContainerInspectResponse {
            id: Some(r.id.clone()),
            created: Some(r.created.clone()),
            path: Some(r.path.clone()),
            args: Some(r.args.clone()),
            state: Some(ContainerState {
                status: Some(state_enum(s.status)),
                // Docker counts a container waiting to restart as running.
                running: Some(s.status.is_live()),
                paused: Some(s.status == Status::Paused),
                restarting: Some(s.status == Status::Restarting),
                oom_killed: Some(s.oom_killed),
                dead: Some(s.status == Status::Dead),
                pid: Some(i64::from(s.pid)),
                exit_code: Some(i64::from(s.exit_code)),
                error: Some(s.error.clone()),
                started_at: Some(s.started_at.clone()),
                finished_at: Some(s.finished_at.clone()),
                health: self.health.health(&r.id),
            }),
            image: Some(r.image.clone()),
            resolv_conf_path: path_string(dir.join("resolv.conf")),
            hostname_path: path_string(dir.join("hostname")),
            hosts_path: path_string(dir.join("hosts")),
            log_path: path_string(self.paths.log(&r.id)),
            name: Some(format!("/{}", r.name)),
            restart_count: Some(i64::from(r.restart_count)),
            driver: Some("overlay2".into()),
            platform: Some("linux".into()),
            mount_label: Some(String::new()),
            process_label: Some(String::new()),
            app_armor_profile: Some(String::new()),
            exec_ids: None,
            host_config: Some(r.host_config.clone()),
            graph_driver: Some(self.graph_driver(&r.id)),
            size_rw: size.then(|| self.size_rw(&r.id)),
            size_root_fs: size.then(|| self.size_root_fs(&r.id)),
            mounts: Some(self.volumes.mounts_of(&r.id)),
            config: Some(r.config.clone()),
            network_settings: Some(self.network.settings(&r.id).unwrap_or(NetworkSettings {
                sandbox_id: Some(String::new()),
                sandbox_key: Some(String::new()),
                ports: Some(HashMap::new()),
                networks: Some(HashMap::new()),
            })),
            ..Default::default()
        }
    }

    /// Docker's `GraphDriver`: overlay's dirs, as overlay2 names them.
    fn graph_driver(&self, id: &str) -> DriverData {
        let mut data = HashMap::new();
        if let Ok(mount) = self.store.snapshots.mounts(id) {
            for option in &mount.options {
                let (key, value) = option.split_once('=').unwrap_or((option, ""));
                let name = match key {
                    "lowerdir" => "LowerDir",
                    "upperdir" => "UpperDir",
                    "workdir" => "WorkDir",
                    _ => continue,
                };
                data.insert(name.to_string(), value.to_string());
            }
        }
        data.insert(
            "MergedDir".into(),
            self.paths.rootfs(id).to_string_lossy().into_owned(),
        );
        DriverData {
            name: "overlay2".into(),
            data,
        }
    }
}
