//! CVE-2019-5736 defence without copying the binary on every start: before any container
//! process exists, make sure `/proc/self/exe` lives on a read-only mount, so a container that
//! reaches it through `/proc/<pid>/exe` can never open it for writing.
//!
//! If our binary is on a writable mount we clone a detached bind mount of it
//! (`open_tree(OPEN_TREE_CLONE)`), make that mount read-only (`mount_setattr`), and re-exec
//! through it (`execveat(AT_EMPTY_PATH)`). Kernels without those calls get a sealed memfd
//! copy instead.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;

use crate::sys;

/// Set in the environment of the re-exec'd process, so it never loops.
pub const SEALED_ENV: &str = "_BERTH_RUNC_SEALED_EXE";

#[derive(Debug, thiserror::Error)]
pub enum SelfExeError {
    #[error("opening /proc/self/exe: {0}")]
    Open(std::io::Error),
    #[error("re-executing through a read-only copy of ourselves ({how}): {source}")]
    Reexec {
        how: &'static str,
        source: std::io::Error,
    },
    #[error("argument or environment contains a NUL byte")]
    NulByte,
}

/// Returns when `/proc/self/exe` is read-only; otherwise re-execs (and does not return).
pub fn ensure_read_only() -> Result<(), SelfExeError> {
    if std::env::var_os(SEALED_ENV).is_some() {
        return Ok(());
    }
    let exe = std::fs::File::open("/proc/self/exe").map_err(SelfExeError::Open)?;
    if sys::exe::is_on_read_only_mount(exe.as_fd()).map_err(SelfExeError::Open)? {
        return Ok(());
    }
    drop(exe);
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_vec()))
        .collect::<Result<_, _>>()
        .map_err(|_| SelfExeError::NulByte)?;
    let mut envp: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv)
        })
        .collect::<Result<_, _>>()
        .map_err(|_| SelfExeError::NulByte)?;
    envp.push(CString::new(format!("{SEALED_ENV}=1")).map_err(|_| SelfExeError::NulByte)?);

    match read_only_bind() {
        Ok(fd) => Err(SelfExeError::Reexec {
            how: "read-only bind mount",
            source: sys::exe::execveat_fd(fd.as_fd(), &argv, &envp),
        }),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EPERM)
            ) =>
        {
            let fd = sealed_copy().map_err(|source| SelfExeError::Reexec {
                how: "sealed memfd",
                source,
            })?;
            Err(SelfExeError::Reexec {
                how: "sealed memfd",
                source: sys::exe::execveat_fd(fd.as_fd(), &argv, &envp),
            })
        }
        Err(source) => Err(SelfExeError::Reexec {
            how: "read-only bind mount",
            source,
        }),
    }
}

/// A detached, read-only bind mount of our executable, as an `O_PATH`-like fd.
fn read_only_bind() -> std::io::Result<std::os::fd::OwnedFd> {
    read_only_clone(c"/proc/self/exe")
}

/// A detached, read-only bind mount of the file at `path` (close-on-exec). It is in no mount
/// table, so nothing can leak: it lives as long as this fd and the processes executing it.
/// Execute it as `/proc/self/fd/<fd>` (resolved before exec closes the fd).
pub fn read_only_clone(path: &std::ffi::CStr) -> std::io::Result<std::os::fd::OwnedFd> {
    let fd = sys::exe::open_tree_clone(path)?;
    sys::exe::make_mount_read_only(fd.as_fd())?;
    Ok(fd)
}

/// A memfd holding a copy of our executable, sealed against every change.
fn sealed_copy() -> std::io::Result<std::os::fd::OwnedFd> {
    let memfd = sys::exe::memfd_sealable(c"berth-runc")?;
    let mut src = std::fs::File::open("/proc/self/exe")?;
    let mut dst = std::fs::File::from(memfd);
    std::io::copy(&mut src, &mut dst)?;
    let memfd = std::os::fd::OwnedFd::from(dst);
    sys::exe::seal_all(memfd.as_fd())?;
    Ok(memfd)
}
