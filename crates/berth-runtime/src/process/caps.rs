//! Linux capabilities: the five sets of `process.capabilities`.

use oci_spec::runtime::LinuxCapabilities;

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("capabilities not implemented yet")]
    Unimplemented,
}

/// Drops every capability not in `caps.bounding` from the bounding set (needs CAP_SETPCAP).
pub fn drop_bounding(caps: &LinuxCapabilities) -> Result<(), CapsError> {
    let _ = caps;
    Err(CapsError::Unimplemented)
}

/// `PR_SET_KEEPCAPS`: keep permitted capabilities across the uid change in `user::switch`.
pub fn set_keep(keep: bool) -> Result<(), CapsError> {
    let _ = keep;
    Err(CapsError::Unimplemented)
}

/// Sets effective, permitted and inheritable (capset), then raises the ambient set.
pub fn apply(caps: &LinuxCapabilities) -> Result<(), CapsError> {
    let _ = caps;
    Err(CapsError::Unimplemented)
}
