//! `--health-*` and `--no-healthcheck` for `run`/`create`, into `Config.Healthcheck` as
//! docker/cli builds it (durations in Go's syntax: `200ms`, `1m30s`).

use std::time::Duration;

use berth_client::models::HealthConfig;
use clap::Args;

use super::opts::OptsError;

#[derive(Args, Debug, Default, Clone)]
pub struct HealthOptions {
    /// Command to run to check health.
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h).
    #[arg(long, value_parser = parse_duration)]
    pub health_interval: Option<Duration>,
    /// Maximum time to allow one check to run (ms|s|m|h).
    #[arg(long, value_parser = parse_duration)]
    pub health_timeout: Option<Duration>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long)]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize before counting retries (ms|s|m|h).
    #[arg(long, value_parser = parse_duration)]
    pub health_start_period: Option<Duration>,
    /// Time between running the check during the start period (ms|s|m|h).
    #[arg(long, value_parser = parse_duration)]
    pub health_start_interval: Option<Duration>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long)]
    pub no_healthcheck: bool,
}

fn nanos(d: Option<Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl HealthOptions {
    /// `None` when no flag was given (the image's HEALTHCHECK applies).
    pub fn to_config(&self) -> Result<Option<HealthConfig>, OptsError> {
        let any = self.health_cmd.as_deref().is_some_and(|c| !c.is_empty())
            || self.health_interval.is_some_and(|d| !d.is_zero())
            || self.health_timeout.is_some_and(|d| !d.is_zero())
            || self.health_start_period.is_some_and(|d| !d.is_zero())
            || self.health_start_interval.is_some_and(|d| !d.is_zero())
            || self.health_retries.is_some_and(|r| r != 0);
        if self.no_healthcheck {
            if any {
                return Err(OptsError::Invalid {
                    flag: "no-healthcheck",
                    value: "true".into(),
                    reason: "conflicts with --health-* options",
                });
            }
            return Ok(Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }));
        }
        if !any {
            return Ok(None);
        }
        if let Some(retries) = self.health_retries.filter(|r| *r < 0) {
            return Err(OptsError::Invalid {
                flag: "health-retries",
                value: retries.to_string(),
                reason: "cannot be negative",
            });
        }
        Ok(Some(HealthConfig {
            test: self
                .health_cmd
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|cmd| vec!["CMD-SHELL".into(), cmd.clone()]),
            interval: nanos(self.health_interval),
            timeout: nanos(self.health_timeout),
            retries: self.health_retries,
            start_period: nanos(self.health_start_period),
            start_interval: nanos(self.health_start_interval),
        }))
    }
}

/// Go's `time.ParseDuration` for non-negative values: `300ms`, `1.5s`, `1h30m`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (use e.g. 200ms, 30s, 1m30s)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn builds_the_health_config_like_docker() {
        assert_eq!(HealthOptions::default().to_config().unwrap(), None);
        let opts = HealthOptions {
            health_cmd: Some("exit 1".into()),
            health_interval: Some(Duration::from_millis(200)),
            health_retries: Some(2),
            ..Default::default()
        };
        let config = opts.to_config().unwrap().unwrap();
        assert_eq!(config.test.unwrap(), ["CMD-SHELL", "exit 1"]);
        assert_eq!(config.interval, Some(200_000_000));
        assert_eq!(config.retries, Some(2));
        let none = HealthOptions {
            no_healthcheck: true,
            ..Default::default()
        };
        assert_eq!(none.to_config().unwrap().unwrap().test.unwrap(), ["NONE"]);
        let both = HealthOptions {
            no_healthcheck: true,
            health_cmd: Some("true".into()),
            ..Default::default()
        };
        assert!(both.to_config().is_err());
    }
}
