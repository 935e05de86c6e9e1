//! Linux security modules: AppArmor profiles and SELinux labels.
//!
//! Both are written to the process's `attr/exec` file so that they take effect at `execve`.

use std::io;
use std::path::{Path, PathBuf};

const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const SELINUX_FS: &str = "/sys/fs/selinux";

#[derive(Debug, thiserror::Error)]
pub enum LsmError {
    #[error("apparmor profile {profile} requested but AppArmor is not enabled on this host")]
    AppArmorDisabled { profile: String },
    #[error(
        "selinux label {label} requested but SELinux is not enabled on this host ({SELINUX_FS} is not mounted)"
    )]
    SelinuxDisabled { label: String },
    #[error("writing {attr} to {path}: {source}")]
    WriteAttr {
        attr: String,
        path: PathBuf,
        source: io::Error,
    },
}

/// Whether the host kernel has AppArmor enabled.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string(APPARMOR_ENABLED).is_ok_and(|s| s.trim_start().starts_with('Y'))
}

/// Whether selinuxfs is mounted (SELinux active on the host).
pub fn selinux_enabled() -> bool {
    // selinuxfs always has an `enforce` file at its root.
    Path::new(SELINUX_FS).join("enforce").exists()
}

fn write_attr(path: &Path, attr: &str) -> Result<(), LsmError> {
    std::fs::write(path, attr).map_err(|source| LsmError::WriteAttr {
        attr: attr.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

/// Fails with a clear error if a profile/label is requested that the host cannot apply;
/// otherwise arranges for it to take effect at `execve`.
pub fn apply(apparmor_profile: Option<&str>, selinux_label: Option<&str>) -> Result<(), LsmError> {
    // Check both before writing either, so a half-applied request cannot happen.
    let profile = apparmor_profile.filter(|p| !p.is_empty());
    let label = selinux_label.filter(|l| !l.is_empty());
    if let Some(profile) = profile
        && !apparmor_enabled()
    {
        return Err(LsmError::AppArmorDisabled {
            profile: profile.to_string(),
        });
    }
    if let Some(label) = label
        && !selinux_enabled()
    {
        return Err(LsmError::SelinuxDisabled {
            label: label.to_string(),
        });
    }
    if let Some(profile) = profile {
        // Newer kernels (5.8+) have a per-LSM directory; older ones only the shared file.
        let per_lsm = Path::new("/proc/self/attr/apparmor/exec");
        let path = if per_lsm.exists() {
            per_lsm
        } else {
            Path::new("/proc/self/attr/exec")
        };
        write_attr(path, &format!("exec {profile}"))?;
    }
    if let Some(label) = label {
        write_attr(Path::new("/proc/self/attr/exec"), label)?;
    }
    Ok(())
}
