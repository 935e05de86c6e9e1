//! Linux security modules: AppArmor profiles and SELinux labels.

#[derive(Debug, thiserror::Error)]
pub enum LsmError {
    #[error("lsm not implemented yet")]
    Unimplemented,
}

/// Fails with a clear error if a profile/label is requested that the host cannot apply;
/// otherwise arranges for it to take effect at `execve`.
pub fn apply(apparmor_profile: Option<&str>, selinux_label: Option<&str>) -> Result<(), LsmError> {
    let _ = (apparmor_profile, selinux_label);
    Err(LsmError::Unimplemented)
}
