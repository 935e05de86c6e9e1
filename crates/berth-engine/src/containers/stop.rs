//! stop, kill, restart, pause, unpause, resize, rename.

use std::sync::Arc;
use std::time::Duration;

use super::record::Status;
use super::wait::WaitCondition;
use super::{ContainerError, names, signal};
use crate::Engine;
use crate::events::Event;

/// Docker's default grace period before SIGKILL.
const DEFAULT_STOP_TIMEOUT: i64 = 10;
/// After SIGKILL, how long to wait for the exit to be recorded.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// Whether a kill with `sig` keeps the restart policy from bringing the container back, as
/// Docker decides: SIGKILL or the container's stop signal does; with no stop signal
/// configured, any signal does.
fn ends_for_good(config: &bollard_stubs::models::ContainerConfig, sig: i32) -> bool {
    match config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        None => true,
        Some(stop) => sig == libc::SIGKILL || signal::parse(stop, libc::SIGTERM).ok() == Some(sig),
    }
}

impl Engine {
    /// `POST /containers/{id}/kill?signal=`; default SIGKILL.
    pub fn kill_container(&self, name: &str, signal_text: &str) -> Result<(), ContainerError> {
        let container = self.containers.get(name)?;
        let sig = signal::parse(signal_text, libc::SIGKILL)?;
        let record = container.snapshot();
        match record.state.status {
            // Waiting to restart: no process to signal; the restart is off (as Docker).
            Status::Restarting => return self.stopped_by_user(&container),
            Status::Running | Status::Paused if ends_for_good(&record.config, sig) => {
                self.stopped_by_user(&container)?
            }
            _ => {}
        }
        self.signal_container(&container, sig)?;
        let mut attrs = super::event_attrs(&container.snapshot());
        attrs.insert("signal".into(), sig.to_string());
        self.events
            .publish(Event::new("container", "kill", &container.id, attrs));
        Ok(())
    }

    /// `POST /containers/{id}/stop?t=&signal=`: the stop signal, then SIGKILL after the
    /// timeout (`t` < 0: wait forever). 304 when it does not run.
    pub fn stop_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal_text: Option<&str>,
    ) -> Result<(), ContainerError> {
        let container = self.containers.get(name)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ContainerError::AlreadyStopped {
                id: container.id.clone(),
            });
        }
        // Not restarted by its policy, and `unless-stopped` stays down at daemon start.
        self.stopped_by_user(&container)?;
        if record.state.status == Status::Restarting {
            self.events.publish(Event::new(
                "container",
                "stop",
                &container.id,
                super::event_attrs(&record),
            ));
            return Ok(());
        }
        let configured = record.config.stop_signal.clone().unwrap_or_default();
        let sig = signal::parse(signal_text.unwrap_or(&configured), libc::SIGTERM)?;
        let timeout = timeout
            .or(record.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if record.state.status == Status::Paused {
            // A frozen process cannot act on its signal: thaw it first, as Docker does.
            self.unpause_container(name)?;
        }
        let mut attrs = super::event_attrs(&record);
        let sent = self.signal_container(&container, sig);
        if sent.is_ok() {
            attrs.insert("signal".into(), sig.to_string());
            self.events.publish(Event::new(
                "container",
                "kill",
                &container.id,
                attrs.clone(),
            ));
        }
        let grace = u64::try_from(timeout).ok().map(Duration::from_secs);
        let exited = match sent {
            Ok(()) => container
                .wait_blocking(WaitCondition::NotRunning, grace)
                .is_some(),
            Err(ContainerError::NotRunning { .. }) => true,
            Err(_) => false,
        };
        if !exited {
            match self.signal_container(&container, libc::SIGKILL) {
                Ok(()) | Err(ContainerError::NotRunning { .. }) => {}
                Err(e) => return Err(e),
            }
            attrs.insert("signal".into(), libc::SIGKILL.to_string());
            self.events.publish(Event::new(
                "container",
                "kill",
                &container.id,
                attrs.clone(),
            ));
            if container
                .wait_blocking(WaitCondition::NotRunning, Some(KILL_GRACE))
                .is_none()
            {
                return Err(ContainerError::Shim {
                    id: container.id.clone(),
                    message: format!("the container did not exit within {KILL_GRACE:?} of SIGKILL"),
                });
            }
        }
        attrs.remove("signal");
        self.events
            .publish(Event::new("container", "stop", &container.id, attrs));
        Ok(())
    }

    /// `POST /containers/{id}/restart?t=`.
    pub fn restart_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal_text: Option<&str>,
    ) -> Result<(), ContainerError> {
        match self.stop_container(name, timeout, signal_text) {
            Ok(()) => {}
            Err(e) if e.is_not_modified() => {}
            Err(e) => return Err(e),
        }
        let container = self.containers.get(name)?;
        self.start_container(&container.id)?;
        self.events.publish(Event::new(
            "container",
            "restart",
            &container.id,
            super::event_attrs(&container.snapshot()),
        ));
        Ok(())
    }

    pub fn pause_container(self: &Arc<Self>, name: &str) -> Result<(), ContainerError> {
        self.freeze(name, true)
    }

    pub fn unpause_container(self: &Arc<Self>, name: &str) -> Result<(), ContainerError> {
        self.freeze(name, false)
    }

    fn freeze(self: &Arc<Self>, name: &str, pause: bool) -> Result<(), ContainerError> {
        let container = self.containers.get(name)?;
        let mut record = container.lock();
        let id = container.id.clone();
        match (record.state.status, pause) {
            (Status::Running, true) | (Status::Paused, false) => {}
            (Status::Paused, true) => return Err(ContainerError::Paused { id }),
            (_, false) if record.state.status != Status::Paused => {
                return Err(ContainerError::NotPaused { id });
            }
            _ => return Err(ContainerError::NotRunning { id }),
        }
        let cid = berth_runtime::container::ContainerId::parse(&id).map_err(|source| {
            ContainerError::RuntimeId {
                id: id.clone(),
                source,
            }
        })?;
        let root = self.paths.runtime_root();
        let (action, result) = if pause {
            ("pause", berth_runtime::container::pause(&root, &cid))
        } else {
            ("unpause", berth_runtime::container::resume(&root, &cid))
        };
        result.map_err(|source| ContainerError::Freezer {
            action,
            id: id.clone(),
            source,
        })?;
        record.state.status = if pause {
            Status::Paused
        } else {
            Status::Running
        };
        record.save(&container.dir)?;
        let attrs = super::event_attrs(&record);
        let (healthcheck, shell) = (
            record.config.healthcheck.clone(),
            record.config.shell.clone(),
        );
        drop(record);
        // A paused container is not probed (Docker reports it unhealthy meanwhile).
        if pause {
            self.health.stop(&id);
        } else {
            self.health
                .start(self, &id, healthcheck.as_ref(), shell.as_deref(), true);
        }
        self.events
            .publish(Event::new("container", action, &id, attrs));
        Ok(())
    }

    /// `POST /containers/{id}/resize?h=&w=` (the tty's size; ignored without a tty).
    pub fn resize_container(&self, name: &str, rows: u16, cols: u16) -> Result<(), ContainerError> {
        let container = self.containers.get(name)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ContainerError::NotRunning {
                id: container.id.clone(),
            });
        }
        if !record.config.tty.unwrap_or(false) {
            return Ok(());
        }
        self.control(
            &container,
            "resize",
            &format!("{{\"resize\":[{rows},{cols}]}}"),
        )?;
        let mut attrs = super::event_attrs(&record);
        attrs.insert("height".into(), rows.to_string());
        attrs.insert("width".into(), cols.to_string());
        self.events
            .publish(Event::new("container", "resize", &container.id, attrs));
        Ok(())
    }

    /// `POST /containers/{id}/rename?name=`.
    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<(), ContainerError> {
        let new_name = names::validate(new_name)?;
        let container = self.containers.get(name)?;
        let old = self
            .containers
            .rename(&container.id, &new_name)
            .map_err(|holder| ContainerError::NameInUse {
                name: new_name.clone(),
                id: holder,
            })?;
        let record = container.lock();
        record.save(&container.dir)?;
        let mut attrs = super::event_attrs(&record);
        drop(record);
        attrs.insert("oldName".into(), format!("/{old}"));
        self.events
            .publish(Event::new("container", "rename", &container.id, attrs));
        Ok(())
    }
}

impl ContainerError {
    /// The 304 class: nothing to do.
    pub fn is_not_modified(&self) -> bool {
        use crate::error::HasKind;
        self.kind() == crate::error::ErrorKind::NotModified
    }
}
