//! `exit.json`: how the container's init ended, written by the shim, read by the daemon.

use std::path::Path;

use crate::json;
use crate::paths::{self, EXIT_FILE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    /// Docker's convention: 128+N when killed by signal N.
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub oom_killed: bool,
    /// RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExitFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Malformed {
        path: std::path::PathBuf,
        reason: String,
    },
}

impl ExitRecord {
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(format!("{{\"exit_code\":{},\"signal\":", self.exit_code).as_bytes());
        json::push_opt_int(&mut out, self.signal.map(i64::from));
        out.extend_from_slice(
            format!(",\"oom_killed\":{},\"finished_at\":", self.oom_killed).as_bytes(),
        );
        json::push_str(&mut out, self.finished_at.as_bytes());
        out.push(b'}');
        out
    }

    /// Writes `<state_dir>/exit.json` atomically.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        paths::write_atomic(state_dir, EXIT_FILE, &self.to_json())
    }

    /// Reads `<state_dir>/exit.json`; `Ok(None)` while the container has not exited.
    pub fn load(state_dir: &Path) -> Result<Option<ExitRecord>, ExitFileError> {
        let path = paths::in_state_dir(state_dir, EXIT_FILE);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ExitFileError::Read { path, source }),
        };
        let malformed = |reason: &str| ExitFileError::Malformed {
            path: path.clone(),
            reason: reason.to_string(),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&data).map_err(|e| malformed(&e.to_string()))?;
        let exit_code = v["exit_code"]
            .as_i64()
            .and_then(|c| i32::try_from(c).ok())
            .ok_or_else(|| malformed("exit_code is not an integer"))?;
        let signal = match &v["signal"] {
            serde_json::Value::Null => None,
            s => Some(
                s.as_i64()
                    .and_then(|s| i32::try_from(s).ok())
                    .ok_or_else(|| malformed("signal is neither null nor an integer"))?,
            ),
        };
        Ok(Some(ExitRecord {
            exit_code,
            signal,
            oom_killed: v["oom_killed"]
                .as_bool()
                .ok_or_else(|| malformed("oom_killed is not a boolean"))?,
            finished_at: v["finished_at"]
                .as_str()
                .ok_or_else(|| malformed("finished_at is not a string"))?
                .to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ExitRecord::load(dir.path()).unwrap(), None);
        for signal in [None, Some(9)] {
            let rec = ExitRecord {
                exit_code: 137,
                signal,
                oom_killed: true,
                finished_at: "2026-01-01T00:00:00.5Z".into(),
            };
            rec.save(dir.path()).unwrap();
            assert_eq!(ExitRecord::load(dir.path()).unwrap(), Some(rec));
        }
    }
}
