//! `GET /containers/json`: Docker's `ContainerSummary` for each container, newest first, with
//! its filters (id, name, label, status, exited, ancestor, before, since, health, volume,
//! network, publish, expose).

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerSummary, ContainerSummaryHostConfig, ContainerSummaryStateEnum,
};

use super::record::{ContainerRecord, Status};
use super::{ContainerError, status_text};
use crate::Engine;

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub all: bool,
    /// Newest `limit` only (`-n`, `-l`); implies `all`, as in Docker.
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: HashMap<String, Vec<String>>,
}

const FILTERS: &[&str] = &[
    "id", "name", "label", "status", "exited", "ancestor", "before", "since", "health", "volume",
    "network", "publish", "expose",
];
const HEALTH: &[&str] = &["starting", "healthy", "unhealthy", "none"];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

impl ListOptions {
    /// Docker's `filters` query value: `{"status":["running"]}` or the older
    /// `{"status":{"running":true}}`.
    pub fn parse_filters(json: &str) -> Result<HashMap<String, Vec<String>>, ContainerError> {
        if json.trim().is_empty() {
            return Ok(HashMap::new());
        }
        let bad = |reason: String| ContainerError::BadFilter {
            filter: json.to_string(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".into()))?;
        let mut out = HashMap::new();
        for (key, values) in object {
            if !FILTERS.contains(&key.as_str()) {
                return Err(ContainerError::BadFilter {
                    filter: key.clone(),
                    reason: "invalid filter".into(),
                });
            }
            let list: Vec<String> = match values {
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                serde_json::Value::Object(o) => o.keys().cloned().collect(),
                _ => return Err(bad(format!("{key}: expected a list"))),
            };
            if key == "status"
                && let Some(bad_status) = list.iter().find(|s| !STATUSES.contains(&s.as_str()))
            {
                return Err(ContainerError::BadFilter {
                    filter: format!("status={bad_status}"),
                    reason: "invalid filter".into(),
                });
            }
            if key == "health"
                && let Some(bad_health) = list.iter().find(|s| !HEALTH.contains(&s.as_str()))
            {
                return Err(ContainerError::BadFilter {
                    filter: format!("health={bad_health}"),
                    reason: "invalid filter".into(),
                });
            }
            if key == "publish" || key == "expose" {
                for value in &list {
                    port_filter(value).ok_or_else(|| ContainerError::BadFilter {
                        filter: format!("{key}={value}"),
                        reason: "invalid port or port range".into(),
                    })?;
                }
            }
            out.insert(key.clone(), list);
        }
        Ok(out)
    }
}

/// A `publish`/`expose` filter value: `port`, `port/proto` or `start-end[/proto]` (tcp when
/// no protocol is given), as the inclusive range and the protocol.
fn port_filter(value: &str) -> Option<(u16, u16, String)> {
    let (ports, proto) = value.split_once('/').unwrap_or((value, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let p = ports.parse().ok()?;
            (p, p)
        }
    };
    (start <= end).then_some((start, end, proto))
}

/// Whether a port key of the record (`80/tcp`) is in one of the filter values.
fn port_matches<'a>(values: &[String], mut keys: impl Iterator<Item = &'a String>) -> bool {
    let filters: Vec<(u16, u16, String)> = values.iter().filter_map(|v| port_filter(v)).collect();
    keys.any(|key| {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            return false;
        };
        filters
            .iter()
            .any(|(start, end, p)| (*start..=*end).contains(&port) && p == proto)
    })
}

fn created_secs(record: &ContainerRecord) -> i64 {
    berth_oci::time::parse_rfc3339(&record.created).unwrap_or(0)
}

impl Engine {
    pub fn list_containers(
        &self,
        options: &ListOptions,
    ) -> Result<Vec<ContainerSummary>, ContainerError> {
        let mut records: Vec<ContainerRecord> =
            self.containers.all().iter().map(|c| c.snapshot()).collect();
        // Newest first; the ID breaks ties within a second.
        records.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        let f = &options.filters;
        let reference_time = |key: &str| -> Result<Option<String>, ContainerError> {
            match f.get(key).and_then(|v| v.first()) {
                None => Ok(None),
                Some(name) => Ok(Some(self.containers.get(name)?.snapshot().created)),
            }
        };
        let before = reference_time("before")?;
        let since = reference_time("since")?;
        let ancestors: Vec<String> = f
            .get("ancestor")
            .into_iter()
            .flatten()
            .map(|a| match self.store.images.resolve(a) {
                Ok(image) => image.id.to_string(),
                Err(_) => a.clone(),
            })
            .collect();
        // Docker matches names as unanchored regular expressions, with and without the `/`.
        let names: Option<Vec<regex_lite::Regex>> = f
            .get("name")
            .map(|values| {
                values
                    .iter()
                    .map(|v| {
                        regex_lite::Regex::new(v).map_err(|e| ContainerError::BadFilter {
                            filter: format!("name={v}"),
                            reason: e.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let all = options.all
            || options.limit.is_some()
            || f.contains_key("status")
            || f.contains_key("exited")
            || before.is_some()
            || since.is_some();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let matches = |r: &ContainerRecord| -> bool {
            let any = |key: &str, test: &dyn Fn(&str) -> bool| {
                f.get(key).is_none_or(|vals| vals.iter().any(|v| test(v)))
            };
            (all || r.state.status.is_live())
                && any("id", &|v| r.id.starts_with(v))
                && names.as_ref().is_none_or(|names| {
                    let slashed = format!("/{}", r.name.trim_start_matches('/'));
                    names
                        .iter()
                        .any(|n| n.is_match(&slashed) || n.is_match(&slashed[1..]))
                })
                && any("status", &|v| v == r.state.status.as_str())
                && any("health", &|v| {
                    v == self.health.status(&r.id).map_or("none", |h| h.as_str())
                })
                && any("exited", &|v| {
                    r.state.status == Status::Exited && v.parse() == Ok(r.state.exit_code)
                })
                && f.get("label").is_none_or(|labels| {
                    labels.iter().all(|l| {
                        let have = r.config.labels.as_ref();
                        match l.split_once('=') {
                            Some((k, v)) => have.and_then(|m| m.get(k)).is_some_and(|x| x == v),
                            None => have.is_some_and(|m| m.contains_key(l)),
                        }
                    })
                })
                && (ancestors.is_empty()
                    || ancestors
                        .iter()
                        .any(|a| *a == r.image || *a == r.image_name))
                && before.as_ref().is_none_or(|b| r.created < *b)
                && since.as_ref().is_none_or(|s| r.created > *s)
                && self.matches_resources(r, f)
        };
        let mut out = Vec::new();
        for record in records.iter().filter(|r| matches(r)) {
            if options.limit.is_some_and(|n| out.len() >= n) {
                break;
            }
            out.push(self.summary(record, options.size, now));
        }
        Ok(out)
    }

    /// The filters on what a container uses: `volume` (a volume's name or a mount's
    /// destination), `network` (a network's name or an ID prefix), `publish` (a container
    /// port that is published), `expose` (an exposed container port).
    fn matches_resources(&self, r: &ContainerRecord, f: &HashMap<String, Vec<String>>) -> bool {
        if let Some(values) = f.get("volume") {
            let mounts = self.volumes.mounts_of(&r.id);
            let hit = mounts.iter().any(|m| {
                values.iter().any(|v| {
                    m.name.as_deref() == Some(v.as_str())
                        || m.destination.as_deref() == Some(v.as_str())
                })
            });
            if !hit {
                return false;
            }
        }
        if let Some(values) = f.get("network") {
            let networks = self.network.summary(&r.id).1.networks.unwrap_or_default();
            let hit = values.iter().any(|v| {
                networks.contains_key(v)
                    || networks.values().any(|n| {
                        n.network_id
                            .as_deref()
                            .is_some_and(|id| !v.is_empty() && id.starts_with(v.as_str()))
                    })
            });
            if !hit {
                return false;
            }
        }
        if let Some(values) = f.get("publish") {
            let bindings = r.host_config.port_bindings.as_ref();
            if !port_matches(values, bindings.into_iter().flat_map(|b| b.keys())) {
                return false;
            }
        }
        if let Some(values) = f.get("expose") {
            let exposed = r.config.exposed_ports.as_ref();
            if !port_matches(values, exposed.into_iter().flat_map(|e| e.iter())) {
                return false;
            }
        }
        true
    }

    fn summary(&self, r: &ContainerRecord, size: bool, now: i64) -> ContainerSummary {
        let mut command = r.path.clone();
        for arg in &r.args {
            command.push(' ');
            command.push_str(arg);
        }
        let state = match r.state.status {
            Status::Created => ContainerSummaryStateEnum::CREATED,
            Status::Running => ContainerSummaryStateEnum::RUNNING,
            Status::Paused => ContainerSummaryStateEnum::PAUSED,
            Status::Restarting => ContainerSummaryStateEnum::RESTARTING,
            Status::Removing => ContainerSummaryStateEnum::REMOVING,
            Status::Exited => ContainerSummaryStateEnum::EXITED,
            Status::Dead => ContainerSummaryStateEnum::DEAD,
        };
        let (ports, network_settings) = self.network.summary(&r.id);
        ContainerSummary {
            id: Some(r.id.clone()),
            names: Some(vec![format!("/{}", r.name)]),
            image: Some(r.image_name.clone()),
            image_id: Some(r.image.clone()),
            command: Some(command),
            created: Some(created_secs(r)),
            ports: Some(ports),
            size_rw: size.then(|| self.size_rw(&r.id)),
            size_root_fs: size.then(|| self.size_root_fs(&r.id)),
            labels: Some(r.config.labels.clone().unwrap_or_default()),
            state: Some(state),
            status: Some(status_text(&r.state, self.health.status(&r.id), now)),
            host_config: Some(ContainerSummaryHostConfig {
                network_mode: Some(
                    r.host_config
                        .network_mode
                        .clone()
                        .unwrap_or_else(|| "default".into()),
                ),
                ..Default::default()
            }),
            network_settings: Some(network_settings),
            mounts: Some(self.volumes.mounts_of(&r.id)),
            ..Default::default()
        }
    }

    /// Docker's `SizeRootFs`: the whole filesystem the container sees, its image's layers
    /// plus what it wrote.
    pub fn size_root_fs(&self, id: &str) -> i64 {
        let index = self.store.snapshots.index();
        let layers: u64 = index
            .active
            .get(id)
            .and_then(|active| active.parent.as_ref())
            .and_then(|top| index.chain(top))
            .map(|chain| chain.iter().map(|(_, l)| l.size).sum())
            .unwrap_or(0);
        layers as i64 + self.size_rw(id)
    }

    /// Bytes written by the container: the size of its snapshot's upper directory.
    pub fn size_rw(&self, id: &str) -> i64 {
        let index = self.store.snapshots.index();
        let Some(active) = index.active.get(id) else {
            return 0;
        };
        dir_size(&self.store.snapshots.fs_dir(active.id)) as i64
    }
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_filter_shapes_and_refuses_unknown_ones() {
        let f = ListOptions::parse_filters(r#"{"status":["running","exited"]}"#).unwrap();
        assert_eq!(f["status"], ["running", "exited"]);
        let f = ListOptions::parse_filters(r#"{"label":{"a=b":true}}"#).unwrap();
        assert_eq!(f["label"], ["a=b"]);
        assert!(ListOptions::parse_filters(r#"{"bogus":["x"]}"#).is_err());
        assert!(ListOptions::parse_filters(r#"{"status":["sleeping"]}"#).is_err());
        assert!(ListOptions::parse_filters(r#"{"health":["healthy","none"]}"#).is_ok());
        assert!(ListOptions::parse_filters(r#"{"health":["sick"]}"#).is_err());
        assert!(ListOptions::parse_filters("[").is_err());
        assert!(ListOptions::parse_filters("").unwrap().is_empty());
    }

    #[test]
    fn port_filters_take_ports_ranges_and_protocols() {
        assert_eq!(port_filter("80"), Some((80, 80, "tcp".into())));
        assert_eq!(
            port_filter("8000-8080/UDP"),
            Some((8000, 8080, "udp".into()))
        );
        assert_eq!(port_filter("9-1"), None);
        assert_eq!(port_filter("80/icmp"), None);
        assert!(ListOptions::parse_filters(r#"{"publish":["http"]}"#).is_err());
        let keys = ["8080/tcp".to_string(), "53/udp".to_string()];
        let hit = |v: &str| port_matches(&[v.to_string()], keys.iter());
        assert!(hit("8080"));
        assert!(hit("8000-8080/tcp"));
        assert!(hit("53/udp"));
        assert!(!hit("53"));
        assert!(!hit("8081-9000"));
    }
}
