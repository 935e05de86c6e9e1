//! A container's health check, from its merged `Config.Healthcheck`, with Docker's defaults
//! (zero means "default" for every duration and the retries).

use std::time::Duration;

use bollard_stubs::models::HealthConfig;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: u32 = 3;

/// The shell of `CMD-SHELL` when the image names none (`SHELL`).
const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The probe's argv, run as an exec in the container.
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    /// The interval while in the start period and not yet healthy.
    pub start_interval: Duration,
    /// Consecutive failures that make the container unhealthy.
    pub retries: u32,
}

fn duration(nanos: Option<i64>, default: Duration) -> Duration {
    match nanos {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

impl Check {
    /// `None` without a check: no config, `["NONE"]` (`--no-healthcheck`), an empty or an
    /// unknown test (Docker ignores those too).
    pub fn from_config(config: Option<&HealthConfig>, shell: Option<&[String]>) -> Option<Check> {
        let config = config?;
        let test = config.test.as_deref()?;
        let (kind, rest) = test.split_first()?;
        let command: Vec<String> = match kind.as_str() {
            "CMD" => rest.to_vec(),
            "CMD-SHELL" => {
                let shell: Vec<String> = match shell {
                    Some(s) if !s.is_empty() => s.to_vec(),
                    _ => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
                };
                shell.into_iter().chain(rest.iter().cloned()).collect()
            }
            _ => return None,
        };
        if command.is_empty() {
            return None;
        }
        let interval = duration(config.interval, DEFAULT_INTERVAL);
        Some(Check {
            command,
            interval,
            timeout: duration(config.timeout, DEFAULT_TIMEOUT),
            start_period: duration(config.start_period, Duration::ZERO),
            start_interval: duration(config.start_interval, DEFAULT_START_INTERVAL),
            retries: config
                .retries
                .filter(|r| *r > 0)
                .map_or(DEFAULT_RETRIES, |r| u32::try_from(r).unwrap_or(u32::MAX)),
        })
    }
}

/// Go's `time.Duration.String()` for the durations Docker prints ("200ms", "1.5s", "1m30s").
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.is_zero() {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let total = d.as_secs();
    let (h, m) = (total / 3600, total / 60 % 60);
    let secs = (d.as_secs_f64() % 60.0 * 1000.0).round() / 1000.0;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(test: &[&str]) -> HealthConfig {
        HealthConfig {
            test: Some(test.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn reads_the_test_forms_with_defaults() {
        let shell = Check::from_config(Some(&config(&["CMD-SHELL", "exit 1"])), None).unwrap();
        assert_eq!(shell.command, ["/bin/sh", "-c", "exit 1"]);
        assert_eq!(
            (shell.interval, shell.timeout, shell.retries),
            (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, 3)
        );
        assert_eq!(shell.start_period, Duration::ZERO);
        let bash = vec!["bash".to_string(), "-lc".to_string()];
        let with_shell = Check::from_config(Some(&config(&["CMD-SHELL", "x"])), Some(&bash));
        assert_eq!(with_shell.unwrap().command, ["bash", "-lc", "x"]);
        let cmd = Check::from_config(Some(&config(&["CMD", "true", "a b"])), None).unwrap();
        assert_eq!(cmd.command, ["true", "a b"]);
        assert!(Check::from_config(Some(&config(&["NONE"])), None).is_none());
        assert!(Check::from_config(Some(&config(&[])), None).is_none());
        assert!(Check::from_config(Some(&config(&["CMD"])), None).is_none());
        assert!(Check::from_config(Some(&config(&["BOGUS", "x"])), None).is_none());
        assert!(Check::from_config(None, None).is_none());
        let mut custom = config(&["CMD", "true"]);
        custom.interval = Some(200_000_000);
        custom.retries = Some(2);
        let custom = Check::from_config(Some(&custom), None).unwrap();
        assert_eq!(custom.interval, Duration::from_millis(200));
        assert_eq!(custom.retries, 2);
    }

    #[test]
    fn prints_durations_like_go() {
        assert_eq!(go_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }
}
