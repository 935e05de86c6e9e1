//! A container's health (Docker's `State.Health`): the status, the failing streak, and the
//! last results, updated by each probe as moby's `handleProbeResult` does.

use std::collections::VecDeque;

use bollard_stubs::models::{Health, HealthStatusEnum, HealthcheckResult};
use serde::{Deserialize, Serialize};

/// Docker keeps this many results.
pub const MAX_LOG_ENTRIES: usize = 5;
/// A probe's output is cut at this many bytes.
pub const MAX_OUTPUT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Starting,
    Healthy,
    Unhealthy,
}

impl Status {
    pub fn model(self) -> HealthStatusEnum {
        match self {
            Status::Starting => HealthStatusEnum::STARTING,
            Status::Healthy => HealthStatusEnum::HEALTHY,
            Status::Unhealthy => HealthStatusEnum::UNHEALTHY,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// One probe's result; times are RFC 3339 with nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// Persisted as Docker shows it (`Status`, `FailingStreak`, `Log`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    pub status: Status,
    pub failing_streak: u32,
    log: VecDeque<ProbeResult>,
}

impl Default for HealthState {
    fn default() -> HealthState {
        HealthState {
            status: Status::Starting,
            failing_streak: 0,
            log: VecDeque::new(),
        }
    }
}

impl HealthState {
    /// A container that is not running: Docker reports its health as unhealthy.
    pub fn stopped(&mut self) {
        self.status = Status::Unhealthy;
    }

    /// A new run: starting again, the log kept (as Docker).
    pub fn restart(&mut self) {
        self.status = Status::Starting;
        self.failing_streak = 0;
    }

    /// Records `result`; the new status when it changed. Failures in the start period do
    /// not count until the container was healthy once.
    pub fn record(
        &mut self,
        result: ProbeResult,
        retries: u32,
        in_start_period: bool,
    ) -> Option<Status> {
        let before = self.status;
        let passed = result.exit_code == 0;
        if self.log.len() >= MAX_LOG_ENTRIES {
            self.log.pop_front();
        }
        self.log.push_back(result);
        if passed {
            self.failing_streak = 0;
            self.status = Status::Healthy;
        } else if !(self.status == Status::Starting && in_start_period) {
            self.failing_streak = self.failing_streak.saturating_add(1);
            if self.failing_streak >= retries {
                self.status = Status::Unhealthy;
            }
        }
        (self.status != before).then_some(self.status)
    }

    pub fn model(&self) -> Health {
        Health {
            status: Some(self.status.model()),
            failing_streak: Some(i64::from(self.failing_streak)),
            log: Some(
                self.log
                    .iter()
                    .map(|r| HealthcheckResult {
                        start: Some(r.start.clone()),
                        end: Some(r.end.clone()),
                        exit_code: Some(r.exit_code),
                        output: Some(r.output.clone()),
                    })
                    .collect(),
            ),
        }
    }
}

/// Cuts `output` to [`MAX_OUTPUT`] bytes (on a character boundary).
pub fn cap_output(mut output: String) -> String {
    if output.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !output.is_char_boundary(end) {
            end -= 1;
        }
        output.truncate(end);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i64) -> ProbeResult {
        ProbeResult {
            start: "s".into(),
            end: "e".into(),
            exit_code: code,
            output: format!("code {code}"),
        }
    }

    #[test]
    fn becomes_unhealthy_after_retries_and_healthy_on_success() {
        let mut h = HealthState::default();
        assert_eq!(h.record(result(1), 2, false), None);
        assert_eq!(h.failing_streak, 1);
        assert_eq!(h.record(result(1), 2, false), Some(Status::Unhealthy));
        assert_eq!(h.record(result(1), 2, false), None);
        assert_eq!(h.failing_streak, 3);
        assert_eq!(h.record(result(0), 2, false), Some(Status::Healthy));
        assert_eq!(h.failing_streak, 0);
        assert_eq!(h.record(result(1), 2, false), None);
        assert_eq!(h.status, Status::Healthy);
    }

    #[test]
    fn start_period_failures_do_not_count_until_healthy() {
        let mut h = HealthState::default();
        for _ in 0..5 {
            assert_eq!(h.record(result(1), 1, true), None);
        }
        assert_eq!((h.status, h.failing_streak), (Status::Starting, 0));
        assert_eq!(h.record(result(0), 1, true), Some(Status::Healthy));
        // Healthy once: failures count even within the start period.
        assert_eq!(h.record(result(1), 1, true), Some(Status::Unhealthy));
    }

    #[test]
    fn keeps_the_last_five_results() {
        let mut h = HealthState::default();
        for code in 0..8 {
            h.record(result(code), 3, false);
        }
        let log = h.model().log.unwrap();
        assert_eq!(log.len(), MAX_LOG_ENTRIES);
        assert_eq!(log[0].exit_code, Some(3));
        assert_eq!(log[4].output.as_deref(), Some("code 7"));
        h.restart();
        assert_eq!(h.model().status, Some(HealthStatusEnum::STARTING));
        assert_eq!(h.model().log.unwrap().len(), MAX_LOG_ENTRIES);
    }

    #[test]
    fn caps_output() {
        assert_eq!(cap_output("é".repeat(3000)).len(), MAX_OUTPUT);
        assert_eq!(cap_output("ok".into()), "ok");
    }
}
