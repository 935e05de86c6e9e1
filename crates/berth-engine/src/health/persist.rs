//! A container's health on disk, `<container dir>/health.json`, so `inspect` still shows
//! `State.Health` (status, failing streak, the last results) after a daemon restart.
//!
//! Written after every probe (and when a monitor starts): the log changes with each probe, and
//! a probe is an exec in the container — forking into its namespaces costs far more than
//! replacing a small file. Replaced with a temp file and a rename (a crash leaves the old or
//! the new file, never part of one) but not fsynced: after a host crash an older result is
//! harmless, the next probe writes a fresh one.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::state::HealthState;

pub const HEALTH_FILE: &str = "health.json";

/// Health files are small; a larger one is not ours.
const MAX_SIZE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HealthFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_SIZE} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Replaces `dir`'s health file with `state`.
pub fn save(dir: &Path, state: &HealthState) -> Result<(), HealthFileError> {
    let path = dir.join(HEALTH_FILE);
    let temp = dir.join(format!(".{HEALTH_FILE}.{}.tmp", std::process::id()));
    let data = serde_json::to_vec(state).unwrap_or_default();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(&data))
        .and_then(|()| std::fs::rename(&temp, &path));
    written.map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        HealthFileError::Write { path, source }
    })
}

/// The health saved in `dir`; `None` when there is none (no check, or never probed).
pub fn load(dir: &Path) -> Result<Option<HealthState>, HealthFileError> {
    let path = dir.join(HEALTH_FILE);
    let size = match std::fs::metadata(&path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(HealthFileError::Read { path, source }),
    };
    if size > MAX_SIZE {
        return Err(HealthFileError::TooLarge { path });
    }
    let data = std::fs::read(&path).map_err(|source| HealthFileError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&data)
        .map(Some)
        .map_err(|source| HealthFileError::Corrupt { path, source })
}

#[cfg(test)]
mod tests {
    use super::super::state::{ProbeResult, Status};
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        let mut state = HealthState::default();
        for code in [1, 1, 1] {
            state.record(
                ProbeResult {
                    start: "s".into(),
                    end: "e".into(),
                    exit_code: code,
                    output: "boom\n".into(),
                },
                2,
                false,
            );
        }
        save(dir.path(), &state).unwrap();
        let back = load(dir.path()).unwrap().unwrap();
        assert_eq!(back.status, Status::Unhealthy);
        assert_eq!(back.failing_streak, 3);
        assert_eq!(back.model(), state.model());
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(HEALTH_FILE)).unwrap()).unwrap();
        assert_eq!(json["Status"], "unhealthy");
        assert_eq!(json["Log"][2]["ExitCode"], 1);
        std::fs::write(dir.path().join(HEALTH_FILE), b"{").unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(HealthFileError::Corrupt { .. })
        ));
    }
}
