//! Docker's restart policies and back-off, as moby's `restartmanager` decides them: pure
//! functions, so the rules are tested without containers.

use std::time::Duration;

use bollard_stubs::models::{RestartPolicy, RestartPolicyNameEnum};

/// The first delay before a restart.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The delay never grows past this.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// `HostConfig.RestartPolicy`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    No,
    Always,
    UnlessStopped,
    /// `max` 0: no limit.
    OnFailure {
        max: i64,
    },
}

impl Policy {
    pub fn of(policy: Option<&RestartPolicy>) -> Policy {
        let Some(policy) = policy else {
            return Policy::No;
        };
        match policy.name {
            Some(RestartPolicyNameEnum::ALWAYS) => Policy::Always,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED) => Policy::UnlessStopped,
            Some(RestartPolicyNameEnum::ON_FAILURE) => Policy::OnFailure {
                max: policy.maximum_retry_count.unwrap_or(0).max(0),
            },
            _ => Policy::No,
        }
    }

    /// Whether a run that ended with `exit_code` starts again; `restarts` is how many times
    /// the policy restarted it since the user last started it.
    pub fn wants_restart(self, exit_code: i32, manually_stopped: bool, restarts: u32) -> bool {
        match self {
            Policy::No => false,
            Policy::Always => true,
            Policy::UnlessStopped => !manually_stopped,
            Policy::OnFailure { max } => exit_code != 0 && (max == 0 || i64::from(restarts) < max),
        }
    }
}

/// The delay before the next restart, given the previous one (zero: none yet) and how long
/// the run lasted: 100 ms, doubling up to a minute, back to 100 ms after a 10 s run.
pub fn next_delay(previous: Duration, ran_for: Duration) -> Duration {
    let previous = if ran_for >= RESET_AFTER {
        Duration::ZERO
    } else {
        previous
    };
    if previous.is_zero() {
        FIRST_DELAY
    } else {
        (previous * 2).min(MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: RestartPolicyNameEnum, max: i64) -> Policy {
        Policy::of(Some(&RestartPolicy {
            name: Some(name),
            maximum_retry_count: Some(max),
        }))
    }

    #[test]
    fn decides_as_docker() {
        assert_eq!(Policy::of(None), Policy::No);
        assert!(!Policy::No.wants_restart(1, false, 0));
        let always = policy(RestartPolicyNameEnum::ALWAYS, 0);
        assert!(always.wants_restart(0, true, 100));
        let unless = policy(RestartPolicyNameEnum::UNLESS_STOPPED, 0);
        assert!(unless.wants_restart(0, false, 5));
        assert!(!unless.wants_restart(0, true, 5));
        let on_failure = policy(RestartPolicyNameEnum::ON_FAILURE, 3);
        assert!(!on_failure.wants_restart(0, false, 0));
        assert!(on_failure.wants_restart(1, false, 2));
        assert!(!on_failure.wants_restart(1, false, 3));
        let unlimited = policy(RestartPolicyNameEnum::ON_FAILURE, 0);
        assert!(unlimited.wants_restart(137, false, 1000));
    }

    #[test]
    fn backs_off_and_resets() {
        let short = Duration::from_secs(1);
        let mut delay = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..12 {
            delay = next_delay(delay, short);
            seen.push(delay);
        }
        assert_eq!(seen[0], Duration::from_millis(100));
        assert_eq!(seen[1], Duration::from_millis(200));
        assert_eq!(seen[9], Duration::from_millis(51_200));
        assert_eq!(seen[10], MAX_DELAY);
        assert_eq!(seen[11], MAX_DELAY);
        assert_eq!(next_delay(MAX_DELAY, RESET_AFTER), FIRST_DELAY);
    }
}
