//! `process.oomScoreAdj`.

use std::io;

const OOM_SCORE_ADJ_PATH: &str = "/proc/self/oom_score_adj";

#[derive(Debug, thiserror::Error)]
pub enum OomError {
    #[error("oom_score_adj {value} is outside -1000..=1000")]
    OutOfRange { value: i32 },
    #[error(
        "lowering oom_score_adj to {value} (from {current}) needs CAP_SYS_RESOURCE, which this process does not have"
    )]
    NeedsSysResource { value: i32, current: String },
    #[error("writing {value} to {OOM_SCORE_ADJ_PATH}: {source}")]
    Write { value: i32, source: io::Error },
}

/// Writes `/proc/self/oom_score_adj`. Lowering it needs CAP_SYS_RESOURCE: say so clearly.
pub fn set_score_adj(value: i32) -> Result<(), OomError> {
    if !(-1000..=1000).contains(&value) {
        return Err(OomError::OutOfRange { value });
    }
    match std::fs::write(OOM_SCORE_ADJ_PATH, value.to_string()) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
            let current = std::fs::read_to_string(OOM_SCORE_ADJ_PATH)
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".to_string());
            Err(OomError::NeedsSysResource { value, current })
        }
        Err(source) => Err(OomError::Write { value, source }),
    }
}
