//! What `create` leaves on disk under `<root>/<id>/`: `state.json` (written atomically) and
//! the exec fifo, and how the live status is derived from them.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Hooks;
use serde::{Deserialize, Serialize};

use super::ContainerId;
use crate::sys;

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("container {id} does not exist")]
    NotFound { id: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The container's saved facts. The live status is computed, never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat` when the init started: a recycled pid has another.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub cgroups_path: String,
    #[serde(default)]
    pub hooks: Option<Hooks>,
}

/// Live status, as runc reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<root>/<id>`.
pub fn container_dir(root: &Path, id: &ContainerId) -> PathBuf {
    root.join(id.as_str())
}

impl Record {
    pub fn load(root: &Path, id: &ContainerId) -> Result<Record, RecordError> {
        let path = container_dir(root, id).join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RecordError::NotFound { id: id.to_string() });
            }
            Err(source) => return Err(RecordError::Read { path, source }),
        };
        serde_json::from_slice(&bytes).map_err(|source| RecordError::Corrupt { path, source })
    }

    /// Writes `state.json` atomically, so readers never see half a file. Not fsynced: the state
    /// root is runtime state (runc's lives in `/run` too) whose containers die with the host.
    pub fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let path = dir.join(STATE_FILE);
        let err = |source| RecordError::Write {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(self).map_err(|e| err(std::io::Error::other(e)))?;
        berth_fsutil::write_atomic_volatile(&path, &bytes, 0o644).map_err(err)
    }

    /// Whether our init still runs: same pid, same start time, not a zombie.
    pub fn init_alive(&self) -> bool {
        match proc_stat(self.pid) {
            Some((state, start)) => start == self.pid_start_time && state != 'Z' && state != 'X',
            None => false,
        }
    }

    /// The live status: stopped if the init is gone; created while the exec fifo exists;
    /// paused if the cgroup is frozen; running otherwise.
    pub fn status(&self, dir: &Path) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        if self.is_frozen() {
            Status::Paused
        } else {
            Status::Running
        }
    }

    fn is_frozen(&self) -> bool {
        berth_cgroups::manager(&self.cgroups_path)
            .and_then(|m| m.freezer_state())
            .is_ok_and(|s| s == berth_cgroups::FreezerState::Frozen)
    }

    /// The OCI runtime-spec state document (hooks get it on stdin).
    pub fn oci_state(&self, status: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status,
            "pid": self.pid,
            "bundle": self.bundle,
        });
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::json!(self.annotations);
        }
        v
    }
}

/// (state letter, start time in clock ticks) from `/proc/<pid>/stat`.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    if pid <= 0 {
        return None;
    }
    // Into a buffer that holds it whole: from an empty one, std probes 32 bytes and doubles.
    let mut text = String::with_capacity(1024);
    fs::File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut file| std::io::Read::read_to_string(&mut file, &mut text))
        .ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3 (state); start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Waits until `pid` has exited (it need not be our child). `timeout_ms` < 0: forever.
/// Returns false on timeout.
pub fn wait_gone(pid: i32, timeout_ms: i32) -> bool {
    match sys::fd::pidfd_open(pid) {
        Ok(fd) => {
            use std::os::fd::AsFd;
            sys::fd::wait_readable(fd.as_fd(), timeout_ms).unwrap_or(false)
                || !sys::proc::exists(pid)
        }
        Err(_) => !sys::proc::exists(pid),
    }
}

#[cfg(test)]
mod tests {
    use super::proc_stat;

    #[test]
    fn reads_our_own_start_time() {
        let (state, start) = proc_stat(std::process::id() as i32).unwrap();
        assert!(state == 'R' || state == 'S');
        assert!(start > 0);
    }
}
