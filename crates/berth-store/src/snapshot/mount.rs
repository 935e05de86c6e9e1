//! A mount description a runtime can perform itself, plus helpers to perform it here.

use std::io;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

/// Mount data longer than a page is truncated by the kernel; refuse before that happens.
pub const MAX_MOUNT_DATA: usize = 4095;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `overlay` or `bind`.
    pub fs_type: String,
    pub source: PathBuf,
    pub options: Vec<String>,
}

impl Mount {
    pub fn is_bind(&self) -> bool {
        self.fs_type == "bind"
    }

    /// Performs the mount at `target` (an existing directory).
    pub fn mount_at(&self, target: &Path) -> io::Result<()> {
        if self.is_bind() {
            rustix::mount::mount(
                &self.source,
                target,
                "",
                MountFlags::BIND | MountFlags::REC,
                None,
            )?;
            return Ok(());
        }
        let data = std::ffi::CString::new(self.options.join(","))
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount options"))?;
        rustix::mount::mount(
            &self.source,
            target,
            &self.fs_type,
            MountFlags::empty(),
            Some(data.as_c_str()),
        )?;
        Ok(())
    }
}

/// Unmounts `target`, detaching lazily if it is busy.
pub fn unmount(target: &Path) -> io::Result<()> {
    match rustix::mount::unmount(target, UnmountFlags::empty()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::BUSY) => Ok(rustix::mount::unmount(target, UnmountFlags::DETACH)?),
        Err(e) => Err(e.into()),
    }
}

/// Unmounts on drop: keeps tests and callers from leaking mounts on early returns.
#[derive(Debug)]
pub struct MountGuard {
    target: PathBuf,
}

impl MountGuard {
    pub fn mount(mount: &Mount, target: &Path) -> io::Result<MountGuard> {
        mount.mount_at(target)?;
        Ok(MountGuard {
            target: target.to_path_buf(),
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        if let Err(e) = unmount(&self.target) {
            tracing::warn!(target = %self.target.display(), error = %e, "unmount failed");
        }
    }
}

/// Whether the kernel offers overlayfs.
pub fn overlay_supported() -> bool {
    std::fs::read_to_string("/proc/filesystems")
        .is_ok_and(|s| s.lines().any(|l| l.trim_end().ends_with("\toverlay")))
}
