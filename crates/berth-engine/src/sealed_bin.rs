//! The shim binary, exposed through a read-only bind mount made once per daemon start.
//!
//! CVE-2019-5736: a container's init runs the shim's image until it execs the user's program,
//! so `/proc/<init>/exe` must never be writable. The shim checks for that itself and, on a
//! writable mount, re-executes through a read-only clone of itself — an extra exec on every
//! container start. Starting shims from a read-only mount instead gives the same guarantee
//! for free.

use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

#[derive(Debug, thiserror::Error)]
#[error("read-only bind mount of {source_path} at {target}: {error}")]
pub struct SealError {
    source_path: PathBuf,
    target: PathBuf,
    error: std::io::Error,
}

/// Bind-mounts `binary` read-only at `dir/<its file name>` (replacing what an earlier daemon
/// left there) and returns that path.
pub fn read_only_binary(binary: &Path, dir: &Path) -> Result<PathBuf, SealError> {
    let name = binary.file_name().unwrap_or_else(|| "berth-shim".as_ref());
    let target = dir.join(name);
    let fail = |error: std::io::Error| SealError {
        source_path: binary.to_path_buf(),
        target: target.clone(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    release(&target);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&target)
        .map_err(fail)?;
    rustix::mount::mount_bind(binary, &target).map_err(|e| fail(e.into()))?;
    let remount = rustix::mount::mount_remount(
        &target,
        MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV,
        "",
    );
    if let Err(e) = remount {
        release(&target);
        return Err(fail(e.into()));
    }
    Ok(target)
}

/// Unmounts every bind stacked at `target` (shims already running keep their image).
pub fn release(target: &Path) {
    while rustix::mount::unmount(target, UnmountFlags::DETACH).is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_is_reachable_read_only_and_released() {
        berth_testutil::require_root();
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("tool");
        std::fs::write(&source, b"#!/bin/sh\necho sealed\n").unwrap();
        let bin = dir.path().join("bin");
        let sealed = read_only_binary(&source, &bin).unwrap();
        // Twice: a restarted daemon replaces the earlier mount.
        let sealed = read_only_binary(&source, &bin).map(|p| {
            assert_eq!(p, sealed);
            p
        });
        let sealed = sealed.unwrap();
        assert_eq!(
            std::fs::read(&sealed).unwrap(),
            std::fs::read(&source).unwrap()
        );
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(&sealed)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
        release(&sealed);
        assert_eq!(std::fs::read(&sealed).unwrap(), b"", "the mount is gone");
    }
}
