//! `process.rlimits`.

use oci_spec::runtime::PosixRlimit;

#[derive(Debug, thiserror::Error)]
pub enum RlimitError {
    #[error("rlimits not implemented yet")]
    Unimplemented,
}

/// Sets each rlimit (setrlimit/prlimit). Raising a hard limit needs CAP_SYS_RESOURCE: the
/// error names the limit, the values and that capability.
pub fn apply(rlimits: &[PosixRlimit]) -> Result<(), RlimitError> {
    let _ = rlimits;
    Err(RlimitError::Unimplemented)
}
