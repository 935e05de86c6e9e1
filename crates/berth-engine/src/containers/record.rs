//! The persisted container: `<data_root>/containers/<id>/config.v2.json`, written atomically on
//! every state change (Docker keeps the same file name and much the same shape).

use std::path::Path;

use bollard_stubs::models::{ContainerConfig, HostConfig};
use serde::{Deserialize, Serialize};

/// Where a container is in its lifecycle (Docker's `State.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Running or paused: a process exists.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub exit_code: i32,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub error: String,
    /// RFC 3339 with nanoseconds; Docker's zero time when never started.
    pub started_at: String,
    pub finished_at: String,
    /// The shim's pid while it supervises the container.
    pub shim_pid: i32,
    /// Stopped or killed through the API since its last start (Docker's
    /// `HasBeenManuallyStopped`): `unless-stopped` then stays down at daemon start.
    #[serde(default)]
    pub manually_stopped: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRecord {
    #[serde(rename = "ID")]
    pub id: String,
    /// Without Docker's leading slash; the API adds it.
    pub name: String,
    pub created: String,
    /// The image's ID (config digest).
    pub image: String,
    /// The image reference the user gave (`busybox`), shown by `ps`.
    pub image_name: String,
    /// The process: entrypoint + cmd resolved at create time.
    pub path: String,
    pub args: Vec<String>,
    /// Config as Docker's API carries it, merged with the image's config at create time.
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub state: State,
    pub restart_count: u32,
    /// `NetworkingConfig` of the create request: endpoints (`--network-alias`, `--ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<bollard_stubs::models::NetworkingConfig>,
}

/// Docker's zero time, shown for never-started containers.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub const RECORD_FILE: &str = "config.v2.json";

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("reading {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl ContainerRecord {
    /// Writes the record into `dir` atomically; durably a moment later (see `sync_later`).
    pub fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let path = dir.join(RECORD_FILE);
        let data = serde_json::to_vec(self).unwrap_or_default();
        super::sync_later::write(&path, &data, 0o600)
            .map_err(|source| RecordError::Write { path, source })
    }

    pub fn load(dir: &Path) -> Result<ContainerRecord, RecordError> {
        let path = dir.join(RECORD_FILE);
        let data = std::fs::read(&path).map_err(|source| RecordError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&data).map_err(|source| RecordError::Corrupt { path, source })
    }

    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            created: "2026-11-23T00:00:00Z".into(),
            image: "sha256:00".into(),
            image_name: "busybox".into(),
            path: "sh".into(),
            args: vec!["-c".into(), "true".into()],
            config: ContainerConfig::default(),
            host_config: HostConfig::default(),
            state: State::default(),
            restart_count: 0,
            networking_config: None,
        };
        record.state.status = Status::Exited;
        record.state.exit_code = 3;
        record.save(dir.path()).unwrap();
        let back = ContainerRecord::load(dir.path()).unwrap();
        assert_eq!(back.state.status, Status::Exited);
        assert_eq!(back.state.exit_code, 3);
        assert_eq!(back.short_id(), "aaaaaaaaaaaa");
        std::fs::write(dir.path().join(RECORD_FILE), b"{").unwrap();
        assert!(matches!(
            ContainerRecord::load(dir.path()),
            Err(RecordError::Corrupt { .. })
        ));
    }
}
