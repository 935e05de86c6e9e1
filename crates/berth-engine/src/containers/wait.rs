//! `POST /containers/{id}/wait` and every internal wait: callbacks registered on a container
//! and fired when it exits or is removed. Registration checks the state under the record lock,
//! and exits are recorded under the same lock, so no exit slips between check and registration.

use std::sync::mpsc;
use std::time::Duration;

use super::attach::AttachCallback;
use super::{Container, ContainerError};

/// Docker's wait conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Returns at once unless the container runs; else at its exit.
    NotRunning,
    /// The next exit from now, even of a container that is not running yet.
    NextExit,
    /// Once the container is removed.
    Removed,
}

impl WaitCondition {
    pub fn parse(text: &str) -> Result<WaitCondition, ContainerError> {
        match text {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(ContainerError::BadFilter {
                filter: format!("condition={other}"),
                reason: "expected not-running, next-exit or removed".into(),
            }),
        }
    }
}

/// What a wait returns: Docker's `{StatusCode, Error}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOutcome {
    pub status_code: i64,
    pub error: Option<String>,
}

pub type WaitCallback = Box<dyn FnOnce(WaitOutcome) + Send>;

/// A container's daemon-lifetime state.
#[derive(Default)]
pub struct Live {
    waiters: Vec<(WaitCondition, WaitCallback)>,
    pub attachers: Vec<AttachCallback>,
    /// Set once removal began: a second remove is refused.
    pub removing: bool,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("waiters", &self.waiters.len())
            .field("attachers", &self.attachers.len())
            .field("removing", &self.removing)
            .finish()
    }
}

/// What happened to a container, for its waiters.
#[derive(Debug, Clone, Copy)]
pub enum Happened {
    Exited,
    Removed,
}

impl Container {
    /// Calls `callback` when `condition` is met (maybe at once, on this thread).
    pub fn on_wait(&self, condition: WaitCondition, callback: WaitCallback) {
        let record = self.lock();
        if condition == WaitCondition::NotRunning && !record.state.status.is_live() {
            let outcome = outcome_of(&record);
            drop(record);
            callback(outcome);
            return;
        }
        self.live().waiters.push((condition, callback));
    }

    /// Blocks until `condition` is met or `timeout` passed (`None`: timed out).
    pub fn wait_blocking(
        &self,
        condition: WaitCondition,
        timeout: Option<Duration>,
    ) -> Option<WaitOutcome> {
        let (tx, rx) = mpsc::channel();
        self.on_wait(
            condition,
            Box::new(move |outcome| {
                let _ = tx.send(outcome);
            }),
        );
        match timeout {
            Some(t) => rx.recv_timeout(t).ok(),
            None => rx.recv().ok(),
        }
    }

    /// Fires the waiters `happened` satisfies; call after the record was updated (and with
    /// the record lock released, so callbacks may look at the container).
    pub fn notify(&self, happened: Happened) {
        let outcome = outcome_of(&self.lock());
        let fired: Vec<WaitCallback> = {
            let mut live = self.live();
            let (fire, keep) = std::mem::take(&mut live.waiters)
                .into_iter()
                .partition(|(c, _)| match happened {
                    Happened::Removed => true,
                    Happened::Exited => *c != WaitCondition::Removed,
                });
            live.waiters = keep;
            fire.into_iter().map(|(_, cb)| cb).collect()
        };
        for callback in fired {
            callback(outcome.clone());
        }
    }

    pub fn set_removing(&self) -> bool {
        let mut live = self.live();
        !std::mem::replace(&mut live.removing, true)
    }

    pub fn is_removing(&self) -> bool {
        self.live().removing
    }

    pub fn clear_removing(&self) {
        self.live().removing = false;
    }

    pub fn take_attachers(&self) -> Vec<AttachCallback> {
        std::mem::take(&mut self.live().attachers)
    }

    pub fn push_attacher(&self, callback: AttachCallback) {
        self.live().attachers.push(callback);
    }
}

fn outcome_of(record: &super::ContainerRecord) -> WaitOutcome {
    WaitOutcome {
        status_code: i64::from(record.state.exit_code),
        error: (!record.state.error.is_empty()).then(|| record.state.error.clone()),
    }
}
