//! The shim binary, exposed through a detached read-only bind mount made once per daemon start.
//!
//! CVE-2019-5736: a container's init runs the shim's image until it execs the user's program,
//! so `/proc/<init>/exe` must never be writable. The shim checks for that itself and, on a
//! writable mount, re-executes through a read-only clone of itself — an extra exec on every
//! container start. Starting shims from a read-only mount instead gives the same guarantee
//! for free. The mount is detached (`open_tree(OPEN_TREE_CLONE)`): it is in no mount table,
//! so a daemon killed with SIGKILL leaves nothing mounted behind.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("read-only bind mount of {source_path}: {error}")]
pub struct SealError {
    source_path: PathBuf,
    error: std::io::Error,
}

/// A binary reachable only through a read-only mount, for this process and the children it
/// spawns (the path is `/proc/self/fd/N`, which `execve` resolves before closing the fd).
#[derive(Debug)]
pub struct SealedBinary {
    _mount: OwnedFd,
    exec_path: PathBuf,
    source: PathBuf,
}

impl SealedBinary {
    pub fn new(binary: &Path) -> Result<SealedBinary, SealError> {
        let fail = |error: std::io::Error| SealError {
            source_path: binary.to_path_buf(),
            error,
        };
        let c_path = CString::new(binary.as_os_str().as_bytes())
            .map_err(|_| fail(std::io::ErrorKind::InvalidInput.into()))?;
        let mount = berth_runtime::selfexe::read_only_clone(&c_path).map_err(fail)?;
        let exec_path = PathBuf::from(format!("/proc/self/fd/{}", mount.as_raw_fd()));
        Ok(SealedBinary {
            _mount: mount,
            exec_path,
            source: binary.to_path_buf(),
        })
    }

    /// What to execute (only valid in this process and in children up to their exec).
    pub fn exec_path(&self) -> &Path {
        &self.exec_path
    }

    /// The binary it was made from, for messages.
    pub fn source(&self) -> &Path {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_binary_runs_read_only_and_leaves_no_mount() {
        berth_testutil::require_root();
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("tool");
        std::fs::copy("/bin/true", &source).unwrap();
        let sealed = SealedBinary::new(&source).unwrap();
        let status = Command::new(sealed.exec_path()).status().unwrap();
        assert!(status.success());
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(sealed.exec_path())
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(dir.path().to_str().unwrap()),
            "a detached mount is in no table: {mounts}"
        );
        drop(sealed);
    }
}
