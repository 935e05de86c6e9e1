//! `linux.seccomp`, compiled and loaded with libseccomp.

use oci_spec::runtime::LinuxSeccomp;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp not implemented yet")]
    Unimplemented,
}

/// Builds the filter (default action, per-syscall actions incl. errno/kill/trap/log/allow,
/// argument conditions, architectures) and loads it into the current thread.
pub fn load(seccomp: &LinuxSeccomp) -> Result<(), SeccompError> {
    let _ = seccomp;
    Err(SeccompError::Unimplemented)
}
