//! A shim is gone: record how its container ended (from the shim's exit.json), stop its
//! health checks, tell waiters, publish `die`, then restart it when its policy says so or
//! remove it when it asked for that (`--rm`).

use std::sync::Arc;

use berth_shim::exit::ExitRecord;

use super::Container;
use super::record::Status;
use super::wait::Happened;
use crate::Engine;
use crate::events::Event;

/// Docker's code for a container whose end nobody saw.
const UNKNOWN_EXIT: i32 = 255;

impl Engine {
    /// Watches `shim_pid`; when it is gone, [`Engine::shim_exited`] runs.
    pub(super) fn watch_shim(self: &Arc<Self>, container: &Container, shim_pid: i32) {
        let engine = Arc::downgrade(self);
        let id = container.id.clone();
        self.monitor.watch(
            shim_pid,
            Box::new(move || {
                if let Some(engine) = engine.upgrade() {
                    engine.shim_exited(&id, shim_pid);
                }
            }),
        );
    }

    /// Records the end of the run supervised by `shim_pid` (a stale call for an older run is
    /// ignored).
    pub fn shim_exited(self: &Arc<Self>, id: &str, shim_pid: i32) {
        let Ok(container) = self.containers.get(id) else {
            return;
        };
        let state_dir = self.paths.shim_state(id);
        let exit = ExitRecord::load(&state_dir);
        let mut record = container.lock();
        if !record.state.status.is_live() || record.state.shim_pid != shim_pid {
            return;
        }
        let state = &mut record.state;
        match exit {
            Ok(Some(exit)) => {
                state.exit_code = exit.exit_code;
                state.oom_killed = exit.oom_killed;
                state.finished_at = exit.finished_at;
            }
            other => {
                // The shim died without recording the end (killed, crashed): the container
                // may be left behind in the runtime; make sure it is not.
                if let Ok(cid) = berth_runtime::container::ContainerId::parse(id) {
                    let _ =
                        berth_runtime::container::delete(&self.paths.runtime_root(), &cid, true);
                }
                state.exit_code = UNKNOWN_EXIT;
                state.error = match other {
                    Err(e) => format!("the shim left an unreadable exit status: {e}"),
                    _ => "the shim exited without recording the container's exit".into(),
                };
                state.finished_at = berth_oci::time::rfc3339_nano(std::time::SystemTime::now());
            }
        }
        state.status = Status::Exited;
        state.pid = 0;
        state.shim_pid = 0;
        // Before the record says "exited": whoever sees that may start it again at once.
        self.detach_network(id);
        self.health.stop(id);
        let restarting = self.plan_restart(&container, &mut record);
        if let Err(e) = record.save(&container.dir) {
            tracing::error!(container = id, error = %e, "saving the exit");
        }
        let mut attrs = super::event_attrs(&record);
        let oom = record.state.oom_killed;
        attrs.insert("exitCode".into(), record.state.exit_code.to_string());
        let auto_remove = restarting.is_none() && record.host_config.auto_remove.unwrap_or(false);
        // Under the lock: a restart (or a start by the user) makes a new state dir.
        let _ = std::fs::remove_dir_all(&state_dir);
        drop(record);
        if oom {
            self.events.publish(Event::new(
                "container",
                "oom",
                id,
                super::event_attrs(&container.snapshot()),
            ));
        }
        self.events
            .publish(Event::new("container", "die", id, attrs));
        container.notify(Happened::Exited);
        if let Some(planned) = restarting {
            self.arm_restart(id, planned);
        }
        // As Docker: `--rm` takes the anonymous volumes along (named ones stay).
        if auto_remove && let Err(e) = self.remove_container(id, false, true) {
            tracing::warn!(container = id, error = %e, "auto-remove");
        }
    }
}
