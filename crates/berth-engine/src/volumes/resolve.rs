//! A container's mounts from its config: anonymous volumes (`Config.Volumes`, the image's
//! `VOLUME`), `--volumes-from`, `Binds` and `Mounts`, later ones replacing earlier ones at the
//! same destination (as moby's `registerMountPoints`). Volumes are created on first use and
//! filled from the image (copy-up); the result is both the OCI mounts and the Docker mount
//! points recorded for the container.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use bollard_stubs::models::{ContainerConfig, HostConfig, MountPoint};
use oci_spec::runtime::Mount;

use super::parse::{self, Request, Source};
use super::{CreateOptions, Inner, VolumeError, copy_up, local_mount, meta};
use crate::Engine;
use crate::events::Event;

/// One mount to add to the spec and what inspect shows for it.
#[derive(Debug, Clone)]
pub struct ResolvedMount {
    pub mount: Mount,
    pub point: MountPoint,
}

/// What goes at one destination before volumes are looked up.
enum Planned {
    New(Request),
    /// A mount point of another container (`--volumes-from`).
    Borrowed(MountPoint),
}

impl Engine {
    /// Resolves, creates and fills the volumes `container_id` mounts, records them as its
    /// mounts, and returns them. `image_volumes` adds to `Config.Volumes` (already merged
    /// ones are fine). Until [`Engine::release_mounts`], the volumes are in use.
    pub fn resolve_mounts(
        &self,
        container_id: &str,
        config: &ContainerConfig,
        host: &HostConfig,
        image_volumes: &[String],
        rootfs: &Path,
    ) -> Result<Vec<ResolvedMount>, VolumeError> {
        let plan = self.plan(config, host, image_volumes)?;
        let volumes = &self.volumes;
        let mut inner = volumes.lock();
        let mut created: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut failure = None;
        for (destination, planned) in plan {
            match self.materialize_mount(&mut inner, &destination, planned, rootfs, &mut created) {
                Ok(resolved) => out.push(resolved),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let recorded = match failure {
            None => volumes.set_users(
                &mut inner,
                container_id,
                out.iter().map(|r| r.point.clone()).collect(),
            ),
            Some(e) => Err(e),
        };
        if let Err(e) = recorded {
            for name in created {
                let _ = volumes.remove_locked(&mut inner, &name);
            }
            return Err(e);
        }
        drop(inner);
        for name in &created {
            self.publish_volume("create", name, [("driver", meta::LOCAL_DRIVER.to_string())]);
        }
        for r in out
            .iter()
            .filter(|r| r.point.typ.as_deref() == Some("volume"))
        {
            self.publish_volume(
                "mount",
                r.point.name.as_deref().unwrap_or_default(),
                [
                    ("container", container_id.to_string()),
                    (
                        "destination",
                        r.point.destination.clone().unwrap_or_default(),
                    ),
                    ("driver", meta::LOCAL_DRIVER.to_string()),
                    (
                        "propagation",
                        r.point.propagation.clone().unwrap_or_default(),
                    ),
                    ("read/write", r.point.rw.unwrap_or(true).to_string()),
                ],
            );
        }
        Ok(out)
    }

    /// Forgets a container's mounts (`rm`); with `remove_anonymous` (`rm -v`) its anonymous
    /// volumes nobody else uses are removed. Returns the volumes removed.
    pub fn release_mounts(
        &self,
        container_id: &str,
        remove_anonymous: bool,
    ) -> Result<Vec<String>, VolumeError> {
        let volumes = &self.volumes;
        let mut inner = volumes.lock();
        let points = volumes.take_users(&mut inner, container_id)?;
        let mut removed = Vec::new();
        let mut unmounted = Vec::new();
        let mut failures = Vec::new();
        for point in points.iter().filter(|p| p.typ.as_deref() == Some("volume")) {
            let Some(name) = point.name.as_deref() else {
                continue;
            };
            unmounted.push(name.to_string());
            let Some(volume) = inner.volumes.get(name).cloned() else {
                continue;
            };
            if !super::users_of(&inner, name).is_empty() {
                continue;
            }
            if !volume.options.is_empty() {
                local_mount::deactivate(&volumes.data_dir(name));
            }
            if remove_anonymous && volume.is_anonymous() && !removed.iter().any(|r| r == name) {
                match volumes.remove_locked(&mut inner, name) {
                    Ok(()) => removed.push(name.to_string()),
                    Err(e) => failures.push(e),
                }
            }
        }
        drop(inner);
        for name in &unmounted {
            self.publish_volume(
                "unmount",
                name,
                [
                    ("container", container_id.to_string()),
                    ("driver", meta::LOCAL_DRIVER.to_string()),
                ],
            );
        }
        for name in &removed {
            self.publish_volume(
                "destroy",
                name,
                [("driver", meta::LOCAL_DRIVER.to_string())],
            );
        }
        match failures.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    /// Every destination and what goes there, in mount order (parents first).
    fn plan(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
        image_volumes: &[String],
    ) -> Result<BTreeMap<String, Planned>, VolumeError> {
        let mut plan: BTreeMap<String, Planned> = BTreeMap::new();
        let config_volumes = config.volumes.iter().flatten();
        for path in config_volumes.chain(image_volumes.iter()) {
            let request = parse::anonymous(path)?;
            plan.entry(request.destination.clone())
                .or_insert(Planned::New(request));
        }
        for spec in host.volumes_from.iter().flatten() {
            for point in self.borrowed_mounts(spec)? {
                if let Some(destination) = point.destination.clone() {
                    plan.insert(destination, Planned::Borrowed(point));
                }
            }
        }
        let mut explicit = HashSet::new();
        let binds = host.binds.iter().flatten().map(|b| parse::bind(b));
        let mounts = host.mounts.iter().flatten().map(parse::mount);
        for request in binds.chain(mounts) {
            let request = request?;
            if !explicit.insert(request.destination.clone()) {
                return Err(VolumeError::DuplicateMountPoint {
                    destination: request.destination,
                });
            }
            plan.insert(request.destination.clone(), Planned::New(request));
        }
        // `--tmpfs` is mounted by the spec; it replaces an implied volume, never a chosen mount.
        for tmpfs in host.tmpfs.iter().flat_map(|t| t.keys()) {
            let destination = parse::clean_destination(tmpfs, tmpfs)?;
            if explicit.contains(&destination) {
                return Err(VolumeError::DuplicateMountPoint { destination });
            }
            plan.remove(&destination);
        }
        Ok(plan)
    }

    /// `--volumes-from ctr[:ro|rw]`: the other container's volume and bind mounts.
    fn borrowed_mounts(&self, spec: &str) -> Result<Vec<MountPoint>, VolumeError> {
        let (name, mode) = match spec.rsplit_once(':') {
            Some((name, mode @ ("ro" | "rw"))) => (name, Some(mode)),
            Some(_) => {
                return Err(VolumeError::VolumesFrom {
                    container: spec.to_string(),
                    reason: "the mode must be ro or rw".to_string(),
                });
            }
            None => (spec, None),
        };
        let container = self
            .containers
            .get(name)
            .map_err(|e| VolumeError::VolumesFrom {
                container: name.to_string(),
                reason: e.to_string(),
            })?;
        let mut points = self.volumes.mounts_of(&container.id);
        points.retain(|p| matches!(p.typ.as_deref(), Some("volume" | "bind")));
        if let Some(mode) = mode {
            for p in &mut points {
                p.rw = Some(mode == "rw");
                p.mode = Some(mode.to_string());
            }
        }
        Ok(points)
    }

    fn materialize_mount(
        &self,
        inner: &mut Inner,
        destination: &str,
        planned: Planned,
        rootfs: &Path,
        created: &mut Vec<String>,
    ) -> Result<ResolvedMount, VolumeError> {
        let volumes = &self.volumes;
        let request = match planned {
            Planned::Borrowed(point) => {
                if point.typ.as_deref() == Some("volume") {
                    let name = point.name.clone().unwrap_or_default();
                    if !inner.volumes.contains_key(&name) {
                        return Err(VolumeError::NotFound { name });
                    }
                }
                let source = point.source.clone().unwrap_or_default();
                let mount = bind_mount(
                    destination,
                    &source,
                    !point.rw.unwrap_or(true),
                    point.propagation.as_deref().filter(|p| !p.is_empty()),
                );
                return Ok(ResolvedMount { mount, point });
            }
            Planned::New(request) => request,
        };
        let rw = !request.read_only;
        match request.source {
            Source::Volume {
                name,
                nocopy,
                driver,
                driver_opts,
                mut labels,
            } => {
                let anonymous = name.is_none();
                if anonymous {
                    labels.insert(meta::ANONYMOUS_LABEL.to_string(), String::new());
                }
                let (volume, new) = volumes.create_locked(
                    inner,
                    CreateOptions {
                        name,
                        driver,
                        driver_opts,
                        labels,
                    },
                )?;
                if new {
                    created.push(volume.name.clone());
                }
                let data = volumes.data_dir(&volume.name);
                if !volume.options.is_empty() && super::users_of(inner, &volume.name).is_empty() {
                    local_mount::activate(&data, &volume.options)?;
                }
                if !nocopy {
                    copy_up::populate(rootfs, destination, &data)?;
                }
                let source = data.to_string_lossy().into_owned();
                Ok(ResolvedMount {
                    mount: bind_mount(destination, &source, !rw, None),
                    point: MountPoint {
                        typ: Some("volume".to_string()),
                        name: Some(volume.name.clone()),
                        source: Some(source),
                        destination: Some(destination.to_string()),
                        driver: Some(volume.driver.clone()),
                        mode: Some(request.mode),
                        rw: Some(rw),
                        propagation: Some(String::new()),
                    },
                })
            }
            Source::Bind { path, create } => {
                if !path.exists() {
                    if !create {
                        return Err(VolumeError::InvalidMount {
                            typ: "bind".to_string(),
                            reason: format!("bind source path does not exist: {}", path.display()),
                        });
                    }
                    std::fs::create_dir_all(&path).map_err(VolumeError::io("creating", &path))?;
                }
                let source = path.to_string_lossy().into_owned();
                let propagation = request
                    .propagation
                    .unwrap_or_else(|| "rprivate".to_string());
                super::propagation::check(&path, &propagation)?;
                Ok(ResolvedMount {
                    mount: bind_mount(destination, &source, !rw, Some(&propagation)),
                    point: MountPoint {
                        typ: Some("bind".to_string()),
                        name: None,
                        source: Some(source),
                        destination: Some(destination.to_string()),
                        driver: None,
                        mode: Some(request.mode),
                        rw: Some(rw),
                        propagation: Some(propagation),
                    },
                })
            }
            Source::Tmpfs { options } => {
                let mount = crate::spec::tmpfs_mount(destination, &options).map_err(|e| {
                    VolumeError::InvalidMount {
                        typ: "tmpfs".to_string(),
                        reason: e.to_string(),
                    }
                })?;
                Ok(ResolvedMount {
                    mount,
                    point: MountPoint {
                        typ: Some("tmpfs".to_string()),
                        name: None,
                        source: Some(String::new()),
                        destination: Some(destination.to_string()),
                        driver: None,
                        mode: Some(String::new()),
                        rw: Some(rw),
                        propagation: Some(String::new()),
                    },
                })
            }
        }
    }

    pub(crate) fn publish_volume<const N: usize>(
        &self,
        action: &str,
        name: &str,
        attrs: [(&str, String); N],
    ) {
        let attrs = attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        self.events
            .publish(Event::new("volume", action, name, attrs));
    }
}

/// A recursive bind, read-only when asked, private unless a propagation is given.
fn bind_mount(
    destination: &str,
    source: &str,
    read_only: bool,
    propagation: Option<&str>,
) -> Mount {
    let mut options = vec!["rbind"];
    if read_only {
        options.push("ro");
    }
    options.push(propagation.unwrap_or("rprivate"));
    crate::spec::oci_mount(destination, "bind", source, &options)
}
