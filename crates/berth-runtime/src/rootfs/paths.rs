//! After pivot: `linux.readonlyPaths`, `linux.maskedPaths` and `root.readonly`.
//! Paths are resolved with openat2 from `/` (now the rootfs); missing paths are skipped.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::FileType;
use rustix::io::Errno;

use super::error::RootfsError;
use super::mounts::remount_fd;
use super::resolve::Root;
use super::sys::{self, SysError};

/// Opens `path` inside `root`; `None` when it does not exist.
fn open_existing(root: &Root, path: &Path) -> Result<Option<OwnedFd>, SysError> {
    match root.open(path, false) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(errno) => Err(SysError {
            call: "openat2",
            path: path.to_path_buf(),
            errno,
        }),
    }
}

/// Bind each path onto itself (recursively) and make it read-only, keeping its
/// nosuid/nodev/noexec (and any flag locked by a user namespace).
pub fn readonly(root: &Root, paths: &[String]) -> Result<(), RootfsError> {
    for path in paths {
        let path = Path::new(path);
        let err = |source| RootfsError::ReadonlyPath {
            path: path.to_path_buf(),
            source,
        };
        let Some(fd) = open_existing(root, path).map_err(err)? else {
            continue;
        };
        let target = sys::fd_path(fd.as_fd());
        sys::mount(
            OsStr::new(&target),
            &target,
            "",
            sys::MS_BIND | sys::MS_REC,
            None,
            path,
        )
        .map_err(err)?;
        drop(fd);
        // Reopen: the new fd lives on the bind mount we just made.
        let fd = open_existing(root, path).map_err(err)?.ok_or_else(|| {
            err(SysError {
                call: "openat2",
                path: path.to_path_buf(),
                errno: Errno::NOENT,
            })
        })?;
        let keep = sys::mount_flags_of(fd.as_fd()).map_err(|errno| {
            err(SysError {
                call: "fstatvfs",
                path: path.to_path_buf(),
                errno,
            })
        })?;
        let flags = sys::MS_RDONLY | (keep & (sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC));
        remount_fd(fd.as_fd(), &sys::fd_path(fd.as_fd()), path, flags, 0).map_err(err)?;
    }
    Ok(())
}

/// Hide each path: /dev/null over files, an empty read-only tmpfs over directories.
pub fn mask(root: &Root, paths: &[String]) -> Result<(), RootfsError> {
    if paths.is_empty() {
        return Ok(());
    }
    let null = dev_null(root)?;
    let null_path = sys::fd_path(null.as_fd());
    for path in paths {
        let path = Path::new(path);
        let err = |source| RootfsError::MaskPath {
            path: path.to_path_buf(),
            source,
        };
        let Some(fd) = open_existing(root, path).map_err(err)? else {
            continue;
        };
        let st = sys::fstat(fd.as_fd()).map_err(|errno| {
            err(SysError {
                call: "fstat",
                path: path.to_path_buf(),
                errno,
            })
        })?;
        let target = sys::fd_path(fd.as_fd());
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let flags = sys::MS_RDONLY | sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC;
            sys::mount(OsStr::new("tmpfs"), &target, "tmpfs", flags, None, path).map_err(err)?;
        } else {
            sys::mount(
                OsStr::new(&null_path),
                &target,
                "",
                sys::MS_BIND,
                None,
                path,
            )
            .map_err(err)?;
        }
    }
    Ok(())
}

/// The container's /dev/null, checked to really be the null device before we bind it over
/// anything (a writable fake would un-mask the paths).
fn dev_null(root: &Root) -> Result<OwnedFd, RootfsError> {
    let path = Path::new("/dev/null");
    let err = |call, errno| RootfsError::MaskPath {
        path: path.to_path_buf(),
        source: SysError {
            call,
            path: path.to_path_buf(),
            errno,
        },
    };
    let fd = root.open(path, false).map_err(|e| err("openat2", e))?;
    let st = sys::fstat(fd.as_fd()).map_err(|e| err("fstat", e))?;
    let rdev = st.st_rdev;
    let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    if FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice || (major, minor) != (1, 3)
    {
        return Err(RootfsError::FakeDevNull { major, minor });
    }
    Ok(fd)
}

/// `root.readonly`: remount `/` read-only, keeping the flags a user namespace locked.
pub fn readonly_root(root: &Root) -> Result<(), RootfsError> {
    let err = |source| RootfsError::ReadonlyRoot { source };
    remount_fd(root.fd(), "/", Path::new("/"), sys::MS_RDONLY, 0).map_err(err)
}
