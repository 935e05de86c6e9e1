//! Restart policies at work. When a run ends, [`Engine::plan_restart`] asks the policy; a
//! restart waits out its back-off on a timer thread (the record says `restarting` meanwhile)
//! and then starts the container again (events: `die`, then `start`, as Docker). A stop or
//! kill through the API, a removal, or the daemon's shutdown cancels what is pending.

mod policy;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use policy::{Policy, next_delay};

use super::record::{ContainerRecord, State, Status};
use super::wait::Happened;
use super::{Container, ContainerError};
use crate::Engine;

/// One container's restart manager (daemon lifetime, like Docker's).
#[derive(Debug, Default)]
struct Backoff {
    /// The last delay used (zero: none yet).
    delay: Duration,
    /// The token of the restart waiting for its delay.
    pending: Option<u64>,
    /// Stopped or killed through the API: no restart until the user starts it again.
    cancelled: bool,
}

#[derive(Debug, Default)]
struct Inner {
    table: Mutex<HashMap<String, Backoff>>,
    changed: Condvar,
    next_token: AtomicU64,
    shutting_down: AtomicBool,
}

/// A restart decided at the end of a run, waiting to be armed.
#[derive(Debug, Clone, Copy)]
pub struct PlannedRestart {
    token: u64,
    delay: Duration,
}

/// Every container's back-off and pending restart.
#[derive(Debug, Default, Clone)]
pub struct Restarts {
    inner: Arc<Inner>,
}

impl Restarts {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Backoff>> {
        self.inner.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A start by the user: a fresh back-off, no cancellation.
    fn reset(&self, id: &str) {
        self.table().remove(id);
        self.inner.changed.notify_all();
    }

    /// No restart for this run; drops a pending one.
    fn cancel(&self, id: &str) {
        let mut table = self.table();
        let entry = table.entry(id.to_string()).or_default();
        entry.cancelled = true;
        entry.pending = None;
        drop(table);
        self.inner.changed.notify_all();
    }

    /// Decides the end of a run; the token and delay of the restart, if any.
    fn plan(
        &self,
        id: &str,
        policy: Policy,
        state: &State,
        restarts: u32,
    ) -> Option<(u64, Duration)> {
        if policy == Policy::No || self.inner.shutting_down.load(Ordering::SeqCst) {
            return None;
        }
        let mut table = self.table();
        let entry = table.entry(id.to_string()).or_default();
        entry.delay = next_delay(entry.delay, ran_for(state));
        if entry.cancelled
            || !policy.wants_restart(state.exit_code, state.manually_stopped, restarts)
        {
            return None;
        }
        let token = self.inner.next_token.fetch_add(1, Ordering::Relaxed);
        entry.pending = Some(token);
        Some((token, entry.delay))
    }

    /// Waits out `delay`; false when the restart was cancelled meanwhile.
    fn wait(&self, id: &str, token: u64, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        let mut table = self.table();
        loop {
            if table.get(id).and_then(|b| b.pending) != Some(token) {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            table = self
                .inner
                .changed
                .wait_timeout(table, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Claims the pending restart `token` (false if cancelled or superseded).
    fn take_due(&self, id: &str, token: u64) -> bool {
        let mut table = self.table();
        match table.get_mut(id) {
            Some(b) if b.pending == Some(token) => {
                b.pending = None;
                true
            }
            _ => false,
        }
    }

    /// The daemon stops: no new restarts; the IDs whose restart was pending.
    fn shut_down(&self) -> Vec<String> {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let mut table = self.table();
        let pending = table
            .iter_mut()
            .filter_map(|(id, b)| b.pending.take().map(|_| id.clone()))
            .collect();
        drop(table);
        self.inner.changed.notify_all();
        pending
    }
}

/// How long the run lasted, to the nanosecond (a run of 9.2 s straddling ten second
/// boundaries must not count as 10 s).
fn ran_for(state: &State) -> Duration {
    match (nanos_of(&state.started_at), nanos_of(&state.finished_at)) {
        (Some(start), Some(end)) if end > start => {
            Duration::from_nanos(u64::try_from(end - start).unwrap_or(u64::MAX))
        }
        _ => Duration::ZERO,
    }
}

/// An RFC 3339 time with its fraction (`2026-01-01T00:00:09.25Z`) in nanoseconds.
fn nanos_of(text: &str) -> Option<i128> {
    let secs = berth_oci::time::parse_rfc3339(text)?;
    let digits: String = text
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .take(9)
        .collect();
    let fraction = format!("{digits:0<9}").parse::<i128>().ok()?;
    Some(i128::from(secs) * 1_000_000_000 + fraction)
}

impl Engine {
    /// At the end of a run (the exit recorded in `record`, which is locked): when the policy
    /// restarts it, counts the restart and marks it `restarting`. The caller arms the timer
    /// with [`Engine::arm_restart`] once `die` is published.
    pub(super) fn plan_restart(
        &self,
        container: &Container,
        record: &mut ContainerRecord,
    ) -> Option<PlannedRestart> {
        if container.is_removing() {
            return None;
        }
        let policy = Policy::of(record.host_config.restart_policy.as_ref());
        let (token, delay) =
            self.restarts
                .plan(&container.id, policy, &record.state, record.restart_count)?;
        record.restart_count += 1;
        record.state.status = Status::Restarting;
        Some(PlannedRestart { token, delay })
    }

    /// Starts the back-off timer of a planned restart.
    pub(super) fn arm_restart(self: &Arc<Self>, id: &str, planned: PlannedRestart) {
        let restarts = self.restarts.clone();
        let engine = Arc::downgrade(self);
        let id = id.to_string();
        let timer = move || {
            if restarts.wait(&id, planned.token, planned.delay)
                && let Some(engine) = engine.upgrade()
            {
                engine.restart_due(&id, planned.token);
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("restart-timer".into())
            .spawn(timer)
        {
            tracing::error!(error = %e, "cannot arm a restart timer");
        }
    }

    /// The back-off is over: start the container again, unless cancelled meanwhile.
    fn restart_due(self: &Arc<Self>, id: &str, token: u64) {
        let Ok(container) = self.containers.get(id) else {
            return;
        };
        let record = container.lock();
        if record.state.status != Status::Restarting
            || container.is_removing()
            || !self.restarts.take_due(id, token)
        {
            return;
        }
        if let Err(e) = self.run_container(&container, record) {
            tracing::warn!(container = %id, error = %e, "restart by policy failed");
        }
    }

    /// A start by the user: restart count and back-off start over (Docker does the same).
    pub(super) fn reset_restarts(&self, record: &mut ContainerRecord) {
        self.restarts.reset(&record.id);
        record.restart_count = 0;
        record.state.manually_stopped = false;
    }

    /// `stop`/`kill` through the API: this run is not restarted, `unless-stopped` stays down
    /// at the next daemon start, and a container waiting to restart is stopped now.
    pub(super) fn stopped_by_user(&self, container: &Container) -> Result<(), ContainerError> {
        self.cancel_restart_with(container, |record| record.state.manually_stopped = true)
    }

    /// Drops a pending restart (removal, shutdown): the container is `exited`.
    pub(super) fn cancel_restart(&self, container: &Container) -> Result<(), ContainerError> {
        self.cancel_restart_with(container, |_| {})
    }

    fn cancel_restart_with(
        &self,
        container: &Container,
        edit: impl FnOnce(&mut ContainerRecord),
    ) -> Result<(), ContainerError> {
        let mut record = container.lock();
        edit(&mut record);
        self.restarts.cancel(&container.id);
        let was_restarting = record.state.status == Status::Restarting;
        if was_restarting {
            record.state.status = Status::Exited;
        }
        let saved = record.save(&container.dir);
        drop(record);
        if was_restarting {
            // Waiters for "not running" return now.
            container.notify(Happened::Exited);
        }
        saved.map_err(Into::into)
    }

    /// The container is removed: its back-off and health go too.
    pub(super) fn forget_restarts_and_health(&self, id: &str) {
        self.restarts.reset(id);
        self.health.forget(id);
    }

    /// Graceful daemon stop: restarts still pending are dropped (the next daemon start
    /// decides again from the record).
    pub fn cancel_all_restarts(&self) {
        for id in self.restarts.shut_down() {
            if let Ok(container) = self.containers.get(&id)
                && let Err(e) = self.cancel_restart(&container)
            {
                tracing::warn!(container = %id, error = %e, "cancelling a pending restart");
            }
        }
    }

    /// Daemon start: containers whose policy wants them running (`always`, `unless-stopped`
    /// unless stopped by the user, `on-failure` after a failure) are started, as Docker does
    /// after a daemon or host restart. Runs in the background; failures are logged.
    pub(super) fn start_by_policy(self: &Arc<Self>) {
        let wanted: Vec<String> = self
            .containers
            .all()
            .iter()
            .map(|c| c.snapshot())
            .filter(|r| {
                r.state.status == Status::Exited
                    && Policy::of(r.host_config.restart_policy.as_ref()).wants_restart(
                        r.state.exit_code,
                        r.state.manually_stopped,
                        r.restart_count,
                    )
            })
            .map(|r| r.id)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let engine = Arc::downgrade(self);
        let run = move || {
            for id in wanted {
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if let Err(e) = engine.start_container(&id) {
                    tracing::warn!(container = %id, error = %e, "starting by restart policy");
                }
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("restart-at-boot".into())
            .spawn(run)
        {
            tracing::error!(error = %e, "cannot start containers by restart policy");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> State {
        State {
            status: Status::Exited,
            exit_code: code,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:01Z".into(),
            ..State::default()
        }
    }

    #[test]
    fn pending_restarts_can_be_cancelled_and_claimed_once() {
        let restarts = Restarts::default();
        let (token, delay) = restarts.plan("a", Policy::Always, &exited(0), 0).unwrap();
        assert_eq!(delay, Duration::from_millis(100));
        assert!(restarts.wait("a", token, Duration::ZERO));
        assert!(restarts.take_due("a", token));
        assert!(!restarts.take_due("a", token), "claimed twice");
        // The back-off grows with each planned restart of a short run.
        let (token, delay) = restarts.plan("a", Policy::Always, &exited(0), 1).unwrap();
        assert_eq!(delay, Duration::from_millis(200));
        let waiter = {
            let restarts = restarts.clone();
            std::thread::spawn(move || restarts.wait("a", token, Duration::from_secs(60)))
        };
        restarts.cancel("a");
        assert!(!waiter.join().unwrap(), "a cancelled restart went ahead");
        // Cancelled (stopped by the user): no restart until a start resets it.
        assert!(restarts.plan("a", Policy::Always, &exited(0), 2).is_none());
        restarts.reset("a");
        assert!(restarts.plan("a", Policy::Always, &exited(0), 0).is_some());
        // Fractions count: 9.8 s across ten second boundaries is short, 10.0 s is not.
        let run = |start: &str, end: &str| State {
            started_at: start.into(),
            finished_at: end.into(),
            ..State::default()
        };
        let short = run("2026-01-01T00:00:00.9Z", "2026-01-01T00:00:10.7Z");
        assert_eq!(ran_for(&short), Duration::from_millis(9800));
        let long = run(
            "2026-01-01T00:00:00.123456789Z",
            "2026-01-01T00:00:10.123456789Z",
        );
        assert_eq!(ran_for(&long), Duration::from_secs(10));
        assert_eq!(restarts.shut_down(), ["a"]);
        assert!(restarts.plan("b", Policy::Always, &exited(0), 0).is_none());
    }
}
