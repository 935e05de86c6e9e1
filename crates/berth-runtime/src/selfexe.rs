//! CVE-2019-5736 defence without copying the binary on every start, for processes that a
//! container can see while they still run our binary: they descend from an exec of a
//! read-only copy of it, so a container that reaches it through `/proc/<pid>/exe` can never
//! open it for writing. (A container's init in a PID namespace of its own needs none of this:
//! it execs the program through the trampoline, see `init::trampoline`.)
//!
//! The copy is a detached bind mount of our binary (`open_tree(OPEN_TREE_CLONE)`) made
//! read-only (`mount_setattr`), exec'd through its fd (`execveat(AT_EMPTY_PATH)`); kernels
//! without those calls get a sealed memfd copy instead. Two ways to use it: re-exec the whole
//! process through it ([`ensure_read_only`]: the shim, `berth-runc exec`), or exec only a
//! spawner that clones the init ([`crate::container::Spawner`]: `berth-runc create` and
//! `run` of a container the trampoline cannot guard).

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
    #[error("making a read-only copy of ourselves ({how}): {source}")]
    Copy {
        how: &'static str,
        source: std::io::Error,
    },
    #[error("argument or environment contains a NUL byte")]
    NulByte,
}

/// Returns when `/proc/self/exe` is read-only; otherwise re-execs (and does not return).
pub fn ensure_read_only() -> Result<(), SelfExeError> {
    let Some(exe) = read_only_exe()? else {
        return Ok(());
    };
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_vec()))
        .collect::<Result<_, _>>()
        .map_err(|_| SelfExeError::NulByte)?;
    let mut envp = environment()?;
    envp.push(CString::new(format!("{SEALED_ENV}=1")).map_err(|_| SelfExeError::NulByte)?);
    Err(SelfExeError::Reexec {
        how: exe.how,
        source: sys::exe::execveat_fd(exe.fd.as_fd(), &argv, &envp),
    })
}

/// A read-only executable copy of our binary, and how it was made.
#[derive(Debug)]
pub struct ReadOnlyExe {
    pub fd: std::os::fd::OwnedFd,
    pub how: &'static str,
}

/// A read-only copy of our binary to exec, or `None` when we already run from one (a
/// read-only mount, or the re-exec of [`ensure_read_only`]).
fn read_only_exe() -> Result<Option<ReadOnlyExe>, SelfExeError> {
    if runs_read_only()? {
        return Ok(None);
    }
    read_only_copy().map(Some)
}

/// Whether our binary is read-only already (a read-only mount, or the re-exec of
/// [`ensure_read_only`]).
pub fn runs_read_only() -> Result<bool, SelfExeError> {
    if std::env::var_os(SEALED_ENV).is_some() {
        return Ok(true);
    }
    let exe = std::fs::File::open("/proc/self/exe").map_err(SelfExeError::Open)?;
    sys::exe::is_on_read_only_mount(exe.as_fd()).map_err(SelfExeError::Open)
}

/// A read-only copy of our binary: a read-only bind mount, or a sealed memfd on kernels
/// without the new mount API.
pub fn read_only_copy() -> Result<ReadOnlyExe, SelfExeError> {
    match read_only_bind() {
        Ok(fd) => Ok(ReadOnlyExe {
            fd,
            how: "read-only bind mount",
        }),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EPERM)
            ) =>
        {
            let how = "sealed memfd";
            let fd = sealed_copy().map_err(|source| SelfExeError::Copy { how, source })?;
            Ok(ReadOnlyExe { fd, how })
        }
        Err(source) => Err(SelfExeError::Copy {
            how: "read-only bind mount",
            source,
        }),
    }
}

/// Our environment as `KEY=VALUE` C strings, for an exec.
fn environment() -> Result<Vec<CString>, SelfExeError> {
    std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv)
        })
        .collect::<Result<_, _>>()
        .map_err(|_| SelfExeError::NulByte)
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
