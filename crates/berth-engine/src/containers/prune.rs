//! `POST /containers/prune` (`docker container prune`, part of `docker system prune`): removes
//! every stopped container (created, exited, dead) its filters keep: `until` (a timestamp or a
//! Go duration ago) and `label` / `label!` (`key` or `key=value`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::ContainerError;
use super::record::{ContainerRecord, Status};
use crate::Engine;

/// What a prune removed: Docker's `ContainersDeleted` and `SpaceReclaimed`.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub space_reclaimed: u64,
}

/// The filters a container prune accepts.
#[derive(Debug, Clone, Default)]
pub struct PruneFilters {
    /// Only containers created before this Unix time.
    until: Option<i64>,
    labels: Vec<String>,
    not_labels: Vec<String>,
}

fn bad(filter: &str, reason: impl Into<String>) -> ContainerError {
    ContainerError::BadFilter {
        filter: filter.to_owned(),
        reason: reason.into(),
    }
}

impl PruneFilters {
    /// Docker's `filters` JSON: `{"until":["24h"],"label":["a=b"]}` or the older
    /// `{"label":{"a=b":true}}`.
    pub fn parse(json: &str, now: i64) -> Result<PruneFilters, ContainerError> {
        let mut out = PruneFilters::default();
        if json.trim().is_empty() {
            return Ok(out);
        }
        let value: Value = serde_json::from_str(json).map_err(|e| bad(json, e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad(json, "expected a JSON object"))?;
        for (key, values) in object {
            let values: Vec<String> = match values {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Value::Object(o) => o.keys().cloned().collect(),
                _ => return Err(bad(key, "expected a list of values")),
            };
            match key.as_str() {
                "until" => {
                    for v in &values {
                        let t = until_time(v, now).ok_or_else(|| {
                            bad(
                                "until",
                                format!("{v:?} is neither a timestamp nor a duration"),
                            )
                        })?;
                        out.until = Some(out.until.map_or(t, |u: i64| u.min(t)));
                    }
                }
                "label" => out.labels.extend(values),
                "label!" => out.not_labels.extend(values),
                other => return Err(bad(other, "invalid filter")),
            }
        }
        Ok(out)
    }

    fn keeps(&self, record: &ContainerRecord) -> bool {
        let created = berth_oci::time::parse_rfc3339(&record.created).unwrap_or(0);
        if self.until.is_some_and(|until| created >= until) {
            return false;
        }
        let labels = record.config.labels.clone().unwrap_or_default();
        self.labels.iter().all(|l| has_label(&labels, l))
            && !self.not_labels.iter().any(|l| has_label(&labels, l))
    }
}

fn has_label(labels: &HashMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

/// A Unix timestamp (`1700000000`, fractions allowed), an RFC 3339 time, or a Go duration
/// (`90m`, `1h30m`, `10s`) before `now`.
fn until_time(text: &str, now: i64) -> Option<i64> {
    if let Ok(secs) = text.parse::<f64>() {
        return Some(secs as i64);
    }
    if let Some(t) = berth_oci::time::parse_rfc3339(text) {
        return Some(t);
    }
    go_duration_secs(text).map(|d| now - d)
}

fn go_duration_secs(text: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next()?);
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += value
            * match unit.as_str() {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                _ => return None,
            };
        any = true;
    }
    (any && number.is_empty()).then_some(total as i64)
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Engine {
    /// Removes the stopped containers `filters` keep; one that cannot be removed is skipped
    /// (and logged), as dockerd does.
    pub fn prune_containers(
        self: &Arc<Self>,
        filters: &PruneFilters,
    ) -> Result<PruneReport, ContainerError> {
        let mut report = PruneReport::default();
        for container in self.containers.all() {
            let record = container.snapshot();
            let stopped = matches!(
                record.state.status,
                Status::Created | Status::Exited | Status::Dead
            );
            if !stopped || !filters.keeps(&record) {
                continue;
            }
            let size = self.size_rw(&record.id).max(0) as u64;
            match self.remove_container(&record.id, false, false) {
                Ok(()) => {
                    report.deleted.push(record.id.clone());
                    report.space_reclaimed += size;
                }
                Err(e) => tracing::warn!(container = %record.id, error = %e, "prune: not removed"),
            }
        }
        self.events
            .publish_prune(crate::events::Pruned::Containers, report.space_reclaimed);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_accepts_timestamps_and_durations() {
        assert_eq!(until_time("1700000000", 0), Some(1_700_000_000));
        assert_eq!(until_time("1h30m", 10_000), Some(10_000 - 5400));
        assert_eq!(until_time("10s", 100), Some(90));
        assert_eq!(until_time("2023-11-14T22:13:20Z", 0), Some(1_700_000_000));
        assert_eq!(until_time("soon", 0), None);
        assert_eq!(until_time("10", 0), Some(10));
        assert_eq!(go_duration_secs("5"), None);
    }

    #[test]
    fn filters_parse_both_shapes_and_refuse_unknown_keys() {
        let f = PruneFilters::parse(r#"{"label":{"a=b":true},"label!":["x"]}"#, 0).unwrap();
        assert_eq!(f.labels, ["a=b"]);
        assert_eq!(f.not_labels, ["x"]);
        assert!(PruneFilters::parse(r#"{"status":["exited"]}"#, 0).is_err());
        assert!(PruneFilters::parse(r#"{"until":["later"]}"#, 0).is_err());
        assert!(PruneFilters::parse("[1]", 0).is_err());
    }
}
