//! `process.oomScoreAdj`.

#[derive(Debug, thiserror::Error)]
pub enum OomError {
    #[error("oom_score_adj not implemented yet")]
    Unimplemented,
}

/// Writes `/proc/self/oom_score_adj`. Lowering it needs CAP_SYS_RESOURCE: say so clearly.
pub fn set_score_adj(value: i32) -> Result<(), OomError> {
    let _ = value;
    Err(OomError::Unimplemented)
}
