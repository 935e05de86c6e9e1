//! Health checks (`HEALTHCHECK`, `--health-*`): one monitor thread per running container with
//! a check, probing through exec at the check's interval, keeping `State.Health` and
//! publishing `health_status: …` when the status changes. Each result is also saved with the
//! container (`persist`), so a restarted daemon shows the same health and carries on probing.

mod check;
mod persist;
mod probe;
mod state;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant};

use bollard_stubs::models::{Health, HealthConfig};

pub use check::{Check, go_duration};
pub use persist::{HEALTH_FILE, HealthFileError};
pub use state::{HealthState, ProbeResult, Status};

use crate::Engine;
use crate::events::Event;

/// One container's health and its monitor, if one runs.
#[derive(Debug, Default)]
struct Entry {
    state: HealthState,
    /// The running monitor's generation; dropping the sender stops it.
    monitor: Option<(u64, mpsc::Sender<()>)>,
}

#[derive(Debug, Default)]
struct Inner {
    table: Mutex<HashMap<String, Entry>>,
    generation: AtomicU64,
}

/// Every container's health.
#[derive(Debug, Default, Clone)]
pub struct HealthMonitors {
    inner: Arc<Inner>,
}

impl HealthMonitors {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Container `id` (re)started: starts probing per `config` (`shell` for `CMD-SHELL`).
    /// `resume` (after unpause) keeps the status; a new run starts over as `starting`.
    pub fn start(
        &self,
        engine: &Arc<Engine>,
        id: &str,
        config: Option<&HealthConfig>,
        shell: Option<&[String]>,
        resume: bool,
    ) {
        let Some(check) = Check::from_config(config, shell) else {
            self.table().remove(id);
            return;
        };
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let (stop, stopped) = mpsc::channel();
        {
            let mut table = self.table();
            let entry = table.entry(id.to_string()).or_default();
            if !resume {
                entry.state.restart();
            }
            entry.monitor = Some((generation, stop));
        }
        let monitor = Monitor {
            health: self.clone(),
            engine: Arc::downgrade(engine),
            id: id.to_string(),
            check,
            generation,
            started: Instant::now(),
        };
        if let Err(e) = std::thread::Builder::new()
            .name("health-monitor".into())
            .spawn(move || monitor.run(&stopped))
        {
            tracing::error!(container = %id, error = %e, "cannot start the health monitor");
        }
    }

    /// The container stopped (or paused): no more probes. Docker reports a stopped monitor
    /// as unhealthy.
    pub fn stop(&self, id: &str) {
        if let Some(entry) = self.table().get_mut(id)
            && entry.monitor.take().is_some()
        {
            entry.state.status = Status::Unhealthy;
        }
    }

    /// Daemon start: the health saved in `dir` for container `id` (`running` or not: Docker
    /// reports a container that is not running as unhealthy). Probing resumes with
    /// [`HealthMonitors::start`] and `resume`.
    pub fn restore(&self, id: &str, dir: &std::path::Path, running: bool) {
        let mut state = match persist::load(dir) {
            Ok(Some(state)) => state,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(container = %id, error = %e, "the saved health is lost");
                return;
            }
        };
        if !running {
            state.stopped();
        }
        self.table().insert(
            id.to_string(),
            Entry {
                state,
                monitor: None,
            },
        );
    }

    /// The container is gone.
    pub fn forget(&self, id: &str) {
        self.table().remove(id);
    }

    /// `State.Health` for inspect; `None` without a health check.
    pub fn health(&self, id: &str) -> Option<Health> {
        self.table().get(id).map(|e| e.state.model())
    }

    /// The status, for `ps` and its `health` filter.
    pub fn status(&self, id: &str) -> Option<Status> {
        self.table().get(id).map(|e| e.state.status)
    }
}

/// A monitor thread's view.
struct Monitor {
    health: HealthMonitors,
    engine: Weak<Engine>,
    id: String,
    check: Check,
    generation: u64,
    started: Instant,
}

impl Monitor {
    fn run(&self, stopped: &mpsc::Receiver<()>) {
        if let Some(engine) = self.engine.upgrade() {
            // A new run reads `starting` on disk too.
            let table = self.health.table();
            if let Some(entry) = table.get(&self.id).filter(|e| self.owns(e)) {
                self.save(&engine, &entry.state);
            }
        }
        loop {
            if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(self.interval()) {
            } else {
                return;
            }
            let Some(engine) = self.engine.upgrade() else {
                return;
            };
            let in_start_period = self.started.elapsed() < self.check.start_period;
            let result = probe::run(&engine, &self.id, &self.check);
            let changed = {
                let mut table = self.health.table();
                let Some(entry) = table.get_mut(&self.id) else {
                    return;
                };
                if !self.owns(entry) {
                    return;
                }
                let changed = entry
                    .state
                    .record(result, self.check.retries, in_start_period);
                // Under the lock: once the container exits (the monitor is stopped) or is
                // removed, no late write can recreate or outdate its file.
                self.save(&engine, &entry.state);
                changed
            };
            if let Some(status) = changed {
                self.publish(&engine, status);
            }
        }
    }

    /// Whether `entry` is still this monitor's (not stopped, not replaced by a new run's).
    fn owns(&self, entry: &Entry) -> bool {
        entry.monitor.as_ref().map(|(g, _)| *g) == Some(self.generation)
    }

    fn save(&self, engine: &Engine, state: &HealthState) {
        if let Err(e) = persist::save(&engine.paths.container(&self.id), state) {
            tracing::warn!(container = %self.id, error = %e, "saving the health");
        }
    }

    /// The start interval while starting within the start period, else the interval.
    fn interval(&self) -> Duration {
        let starting = self.health.status(&self.id) == Some(Status::Starting);
        if starting && self.started.elapsed() < self.check.start_period {
            self.check.start_interval.min(self.check.interval)
        } else {
            self.check.interval
        }
    }

    fn publish(&self, engine: &Engine, status: Status) {
        let Ok(container) = engine.containers.get(&self.id) else {
            return;
        };
        let attrs = crate::containers::event_attrs(&container.snapshot());
        let action = format!("health_status: {}", status.as_str());
        engine
            .events
            .publish(Event::new("container", &action, &self.id, attrs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_monitor_reads_unhealthy_and_forget_drops_it() {
        let health = HealthMonitors::default();
        let (stop, _stopped) = mpsc::channel();
        health.table().insert(
            "c".into(),
            Entry {
                state: HealthState::default(),
                monitor: Some((0, stop)),
            },
        );
        assert_eq!(health.status("c"), Some(Status::Starting));
        health.stop("c");
        assert_eq!(health.status("c"), Some(Status::Unhealthy));
        health.forget("c");
        assert!(health.health("c").is_none());
    }
}
