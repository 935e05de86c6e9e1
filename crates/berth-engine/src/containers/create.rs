//! `POST /containers/create`: resolve the image, reserve the name, merge the image's config,
//! prepare and mount the container's snapshot (kept mounted until remove), write the /etc
//! files and the OCI bundle, save the record.

use std::path::PathBuf;
use std::sync::Arc;

use berth_store::images::ImageError;
use berth_store::snapshot::Driver;
use bollard_stubs::models::{ContainerConfig, ContainerCreateBody, HostConfig, NetworkingConfig};

use super::record::{ContainerRecord, State};
use super::{Container, ContainerError, etc_files, names};
use crate::Engine;
use crate::events::Event;
use crate::spec::{self, SpecInput};

/// An image config larger than this is not one.
const MAX_IMAGE_CONFIG: u64 = 8 << 20;

#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub body: ContainerCreateBody,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub warnings: Vec<String>,
}

/// Undoes a half-made container when create fails.
struct Undo<'a> {
    engine: &'a Engine,
    id: String,
    snapshot: bool,
    mounted: bool,
    volumes: bool,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let paths = &self.engine.paths;
        if self.volumes {
            let _ = self.engine.release_mounts(&self.id, true);
        }
        if self.mounted {
            let _ = berth_store::snapshot::unmount(&paths.rootfs(&self.id));
        }
        if self.snapshot {
            let _ = self.engine.store.snapshots.remove(&self.id);
        }
        let _ = std::fs::remove_dir_all(paths.container(&self.id));
    }
}

/// Docker's `Config` and `HostConfig` out of the create body (the same JSON fields).
fn split_body(
    mut body: ContainerCreateBody,
) -> (ContainerConfig, HostConfig, Option<NetworkingConfig>) {
    let mut host = body.host_config.take().unwrap_or_default();
    fill_host_defaults(&mut host);
    let networking = body.networking_config.take();
    let value = serde_json::to_value(&body).unwrap_or_default();
    (
        serde_json::from_value(value).unwrap_or_default(),
        host,
        networking,
    )
}

/// What Docker fills in at create so inspect always shows it (SDKs index these fields).
fn fill_host_defaults(host: &mut HostConfig) {
    use bollard_stubs::models::{HostConfigLogConfig, RestartPolicy, RestartPolicyNameEnum};
    let log = host.log_config.get_or_insert_with(Default::default);
    if log.typ.as_deref().is_none_or(str::is_empty) {
        *log = HostConfigLogConfig {
            typ: Some("json-file".to_string()),
            config: Some(log.config.clone().unwrap_or_default()),
        };
    }
    if host.network_mode.as_deref().is_none_or(str::is_empty) {
        host.network_mode = Some("default".to_string());
    }
    host.restart_policy.get_or_insert(RestartPolicy {
        name: Some(RestartPolicyNameEnum::NO),
        maximum_retry_count: Some(0),
    });
}

/// A container removed at its exit cannot also be restarted then.
fn refuse_auto_remove_with_restart(host: &HostConfig) -> Result<(), ContainerError> {
    use bollard_stubs::models::RestartPolicyNameEnum as Name;
    let restarts = host
        .restart_policy
        .as_ref()
        .and_then(|p| p.name)
        .is_some_and(|name| !matches!(name, Name::EMPTY | Name::NO));
    if host.auto_remove.unwrap_or(false) && restarts {
        return Err(ContainerError::AutoRemoveWithRestart);
    }
    Ok(())
}

impl Engine {
    pub fn create_container(&self, request: CreateRequest) -> Result<Created, ContainerError> {
        let (mut config, host, networking_config) = split_body(request.body);
        refuse_auto_remove_with_restart(&host)?;
        let image_name = config.image.clone().unwrap_or_default();
        let image = self
            .store
            .images
            .resolve(&image_name)
            .map_err(|e| match e {
                ImageError::NotFound { .. } | ImageError::BadReference { .. } => {
                    ContainerError::NoSuchImage {
                        name: image_name.clone(),
                    }
                }
                other => ContainerError::Image {
                    name: image_name.clone(),
                    source: Box::new(other.into()),
                },
            })?;
        let image_config = self
            .store
            .content
            .read_small(&image.id, MAX_IMAGE_CONFIG)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| e.to_string())
            })
            .map_err(|reason| ContainerError::ImageConfig {
                image: image.id.to_string(),
                reason,
            })?;
        spec::merge_image_config(&mut config, &image_config["config"]);
        let argv = spec::process_args(&config)?;

        let id = names::new_id();
        let name = match request.name.as_deref().filter(|n| !n.is_empty()) {
            Some(given) => names::validate(given)?,
            None => names::generate(|n| self.containers.by_name(n).is_some()),
        };
        if config.hostname.as_deref().unwrap_or("").is_empty() {
            // Docker: the host's name with host networking, else the short ID.
            let host_name = (host.network_mode.as_deref() == Some("host"))
                .then(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
                .flatten()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty());
            config.hostname = Some(host_name.unwrap_or_else(|| id[..12].to_string()));
        }
        let record = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: berth_oci::time::rfc3339_nano(std::time::SystemTime::now()),
            image: image.id.to_string(),
            image_name: image_name.clone(),
            path: argv[0].clone(),
            args: argv[1..].to_vec(),
            config,
            host_config: host,
            state: State {
                started_at: super::record::ZERO_TIME.into(),
                finished_at: super::record::ZERO_TIME.into(),
                ..State::default()
            },
            restart_count: 0,
            networking_config,
        };
        let dir = self.paths.container(&id);
        let container = Arc::new(Container::new(dir.clone(), record.clone()));
        // Reserve the name first: a conflict must not cost a snapshot.
        self.containers
            .insert_unique(container.clone())
            .map_err(|holder| ContainerError::NameInUse {
                name: name.clone(),
                id: holder,
            })?;
        match self.materialize(&record) {
            Ok(()) => {}
            Err(e) => {
                self.containers.remove(&id);
                return Err(e);
            }
        }
        self.events.publish(Event::new(
            "container",
            "create",
            &id,
            super::event_attrs(&record),
        ));
        Ok(Created {
            id,
            warnings: Vec::new(),
        })
    }

    /// Everything on disk: directories, snapshot, mount, /etc files, bundle, record.
    fn materialize(&self, record: &ContainerRecord) -> Result<(), ContainerError> {
        let id = &record.id;
        let io = |what: &'static str, path: PathBuf| {
            move |source| ContainerError::Io { what, path, source }
        };
        let mut undo = Undo {
            engine: self,
            id: id.clone(),
            snapshot: false,
            mounted: false,
            volumes: false,
            armed: true,
        };
        let dir = self.paths.container(id);
        let rootfs = self.paths.rootfs(id);
        std::fs::create_dir_all(&rootfs).map_err(io("creating", rootfs.clone()))?;
        let driver = if berth_store::snapshot::overlay_supported() {
            Driver::Overlay
        } else {
            Driver::Copy
        };
        let mount = self
            .store
            .prepare_container(id, &record.image, driver)
            .map_err(|source| ContainerError::Snapshot {
                id: id.clone(),
                source: Box::new(source),
            })?;
        undo.snapshot = true;
        mount
            .mount_at(&rootfs)
            .map_err(io("mounting the container's rootfs at", rootfs.clone()))?;
        undo.mounted = true;
        crate::fault::point("create:after-snapshot");
        let host_network = record.host_config.network_mode.as_deref() == Some("host");
        let hostname = record.config.hostname.clone().unwrap_or_default();
        let etc = etc_files::write(&dir, &hostname, host_network)?;
        let netns = (!host_network).then(|| self.network.netns_path_for(id));
        let resolved =
            self.resolve_mounts(id, &record.config, &record.host_config, &[], &rootfs)?;
        undo.volumes = true;
        let volume_mounts: Vec<_> = resolved.into_iter().map(|r| r.mount).collect();
        let spec = spec::build_with_mounts(
            &SpecInput {
                id,
                config: &record.config,
                host: &record.host_config,
                rootfs: &rootfs,
                etc: etc.as_spec_files(),
                cgroups_path: super::cgroups_path(id),
                netns: netns.as_deref(),
            },
            &volume_mounts,
        )?;
        let spec = with_console_size(spec, record);
        let bundle_config = self.paths.bundle(id).join("config.json");
        let bytes = serde_json::to_vec(&spec).map_err(|source| ContainerError::Serialize {
            path: bundle_config.clone(),
            source,
        })?;
        super::sync_later::write(&bundle_config, &bytes, 0o600)
            .map_err(io("writing", bundle_config.clone()))?;
        crate::fault::point("create:after-bundle");
        record.save(&dir)?;
        undo.armed = false;
        Ok(())
    }
}

/// Docker's `ConsoleSize` (`[rows, cols]`, sent by the CLI for `-t`) as the tty's initial
/// size: a program that asks at once must see it, and the client's resize comes after start.
fn with_console_size(
    mut spec: oci_spec::runtime::Spec,
    record: &ContainerRecord,
) -> oci_spec::runtime::Spec {
    let size = record
        .host_config
        .console_size
        .as_deref()
        .unwrap_or_default();
    let (&[rows, cols], true) = (size, record.config.tty.unwrap_or(false)) else {
        return spec;
    };
    if rows == 0 && cols == 0 {
        return spec;
    }
    let console = oci_spec::runtime::BoxBuilder::default()
        .height(rows as u64)
        .width(cols as u64)
        .build()
        .ok();
    if let Some(mut process) = spec.process().clone() {
        process.set_console_size(console);
        spec.set_process(Some(process));
    }
    spec
}
