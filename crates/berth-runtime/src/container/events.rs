//! `events`: runc's event stream (stats every interval, oom as it happens), or one stats event.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ContainerId;
use super::lookup::{self, LookupError};
use super::record::Status;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("cgroup: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
}

#[derive(Debug, Clone, Copy)]
pub struct EventsOptions {
    /// Print one stats event and return.
    pub stats_once: bool,
    pub interval: Duration,
}

/// Emits events to `emit` until the container stops or `emit` returns false.
pub fn events(
    root: &Path,
    id: &ContainerId,
    opts: EventsOptions,
    mut emit: impl FnMut(&Value) -> bool,
) -> Result<(), EventsError> {
    let found = lookup::find(root, id)?;
    if found.status == Status::Stopped {
        return Err(EventsError::NotRunning { id: id.to_string() });
    }
    let cgroup = berth_cgroups::manager(&found.record.cgroups_path)?;
    let stats_event =
        |data: berth_cgroups::Stats| json!({"type": "stats", "id": id.as_str(), "data": data});
    if opts.stats_once {
        emit(&stats_event(cgroup.stats()?));
        return Ok(());
    }
    let tick = Duration::from_millis(100).min(opts.interval);
    let mut ooms = cgroup.oom_kill_count().unwrap_or(0);
    let mut next_stats = Instant::now();
    loop {
        let count = cgroup.oom_kill_count().unwrap_or(ooms);
        if count > ooms {
            ooms = count;
            if !emit(&json!({"type": "oom", "id": id.as_str()})) {
                return Ok(());
            }
        }
        if Instant::now() >= next_stats {
            next_stats += opts.interval;
            if !emit(&stats_event(cgroup.stats()?)) {
                return Ok(());
            }
        }
        if !found.record.init_alive() {
            return Ok(());
        }
        std::thread::sleep(tick);
    }
}
