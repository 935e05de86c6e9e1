//! Thin syscall wrappers for the rootfs steps. Each failure names the call and the path it was
//! made on, so a caller can say exactly what went wrong. rustix covers every call but
//! mount_setattr, the one `unsafe` here.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, Dev, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};

/// A failed system call: which call, on which path, and the errno.
#[derive(Debug, thiserror::Error)]
#[error("{call}({}): {errno}", path.display())]
pub struct SysError {
    pub call: &'static str,
    pub path: PathBuf,
    #[source]
    pub errno: Errno,
}

pub type SysResult<T> = Result<T, SysError>;

fn fail(call: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(Errno) -> SysError {
    let path = path.into();
    move |errno| SysError { call, path, errno }
}

/// Raw `MS_*` mount flags (the kernel's `unsigned long`, all of which fit in 32 bits).
pub type MsFlags = u32;

pub const MS_RDONLY: MsFlags = libc::MS_RDONLY as MsFlags;
pub const MS_NOSUID: MsFlags = libc::MS_NOSUID as MsFlags;
pub const MS_NODEV: MsFlags = libc::MS_NODEV as MsFlags;
pub const MS_NOEXEC: MsFlags = libc::MS_NOEXEC as MsFlags;
pub const MS_SYNCHRONOUS: MsFlags = libc::MS_SYNCHRONOUS as MsFlags;
pub const MS_REMOUNT: MsFlags = libc::MS_REMOUNT as MsFlags;
pub const MS_MANDLOCK: MsFlags = libc::MS_MANDLOCK as MsFlags;
pub const MS_DIRSYNC: MsFlags = libc::MS_DIRSYNC as MsFlags;
pub const MS_NOSYMFOLLOW: MsFlags = 256;
pub const MS_NOATIME: MsFlags = libc::MS_NOATIME as MsFlags;
pub const MS_NODIRATIME: MsFlags = libc::MS_NODIRATIME as MsFlags;
pub const MS_BIND: MsFlags = libc::MS_BIND as MsFlags;
pub const MS_MOVE: MsFlags = libc::MS_MOVE as MsFlags;
pub const MS_REC: MsFlags = libc::MS_REC as MsFlags;
pub const MS_SILENT: MsFlags = libc::MS_SILENT as MsFlags;
pub const MS_UNBINDABLE: MsFlags = libc::MS_UNBINDABLE as MsFlags;
pub const MS_PRIVATE: MsFlags = libc::MS_PRIVATE as MsFlags;
pub const MS_SLAVE: MsFlags = libc::MS_SLAVE as MsFlags;
pub const MS_SHARED: MsFlags = libc::MS_SHARED as MsFlags;
pub const MS_RELATIME: MsFlags = libc::MS_RELATIME as MsFlags;
pub const MS_I_VERSION: MsFlags = libc::MS_I_VERSION as MsFlags;
pub const MS_STRICTATIME: MsFlags = libc::MS_STRICTATIME as MsFlags;
pub const MS_LAZYTIME: MsFlags = libc::MS_LAZYTIME as MsFlags;

pub use rustix::fs::{FsWord, PROC_SUPER_MAGIC};
pub const CGROUP2_SUPER_MAGIC: FsWord = 0x6367_7270;

/// The `/proc/self/fd/N` path naming an open file: mounting onto it mounts onto exactly the
/// file we resolved, with no second path lookup an attacker could race.
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// `mount(2)` with raw flags. `what` is the path reported on error (the spec's destination,
/// not the `/proc/self/fd/N` we actually mount on).
pub fn mount(
    source: &OsStr,
    target: &(impl AsRef<OsStr> + ?Sized),
    fstype: &str,
    flags: MsFlags,
    data: Option<&CStr>,
    what: &Path,
) -> SysResult<()> {
    rustix::mount::mount(
        source,
        target.as_ref(),
        fstype,
        MountFlags::from_bits_retain(flags),
        data,
    )
    .map_err(fail("mount", what))
}

/// `mount(NULL, target, NULL, flags, NULL)`: propagation changes and remounts.
pub fn mount_flags(
    target: &(impl AsRef<OsStr> + ?Sized),
    flags: MsFlags,
    what: &Path,
) -> SysResult<()> {
    mount(OsStr::new(""), target, "", flags, None, what)
}

/// `struct mount_attr` of mount_setattr(2) (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE): changes per-mount attributes of the
/// whole tree at `fd` (what `rro`, `rnosuid`, ... ask for).
pub fn mount_setattr_recursive(
    fd: BorrowedFd<'_>,
    set: u64,
    clear: u64,
    what: &Path,
) -> SysResult<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH | libc::AT_RECURSIVE;
    // SAFETY: the kernel reads `size_of::<MountAttr>()` bytes from `attr`, a live, properly
    // laid out (repr(C), VER0) struct; the path is a valid NUL-terminated empty string; `fd`
    // is an open descriptor borrowed for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let errno = Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO);
    Err(SysError {
        call: "mount_setattr",
        path: what.to_path_buf(),
        errno,
    })
}

pub fn umount_detach(target: &(impl AsRef<OsStr> + ?Sized), what: &Path) -> SysResult<()> {
    rustix::mount::unmount(target.as_ref(), UnmountFlags::DETACH).map_err(fail("umount2", what))
}

/// `openat2(dirfd, path, flags, resolve)`, retrying the kernel's EAGAIN (a concurrent rename
/// while resolving `..` under RESOLVE_IN_ROOT).
pub fn openat2(
    dirfd: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    resolve: ResolveFlags,
) -> Result<OwnedFd, Errno> {
    let rel = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut tries = 0;
    loop {
        match rfs::openat2(dirfd, rel, flags | OFlags::CLOEXEC, Mode::empty(), resolve) {
            Err(Errno::AGAIN) if tries < 32 => tries += 1,
            other => return other,
        }
    }
}

pub fn openat(dirfd: BorrowedFd<'_>, path: &Path, flags: OFlags) -> Result<OwnedFd, Errno> {
    let rel = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    rfs::openat(dirfd, rel, flags | OFlags::CLOEXEC, Mode::empty())
}

/// Reopens an `O_PATH` fd with real access `flags` through its /proc/self/fd magic link.
pub fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> Result<OwnedFd, Errno> {
    rfs::open(fd_path(fd), flags | OFlags::CLOEXEC, Mode::empty())
}

pub fn open_dir_path(path: &Path) -> SysResult<OwnedFd> {
    rfs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail("open", path))
}

pub fn mkdirat(dirfd: BorrowedFd<'_>, name: &OsStr, mode: u32) -> Result<(), Errno> {
    rfs::mkdirat(dirfd, name, Mode::from_raw_mode(mode))
}

/// Creates a node (`S_IFREG` for an empty file, or a device/fifo) without following symlinks.
pub fn mknodat(
    dirfd: BorrowedFd<'_>,
    name: &OsStr,
    kind: FileType,
    mode: u32,
    dev: Dev,
) -> Result<(), Errno> {
    rfs::mknodat(dirfd, name, kind, Mode::from_raw_mode(mode), dev)
}

pub fn fchownat_nofollow(
    dirfd: BorrowedFd<'_>,
    name: &OsStr,
    uid: u32,
    gid: u32,
) -> Result<(), Errno> {
    rfs::chownat(
        dirfd,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        rfs::AtFlags::SYMLINK_NOFOLLOW,
    )
}

pub fn symlinkat(target: &str, dirfd: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    rfs::symlinkat(target, dirfd, name)
}

pub fn unlinkat(dirfd: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    rfs::unlinkat(dirfd, name, rfs::AtFlags::empty())
}

pub fn readlinkat(dirfd: BorrowedFd<'_>, name: &OsStr) -> Result<PathBuf, Errno> {
    let target = rfs::readlinkat(dirfd, name, Vec::new())?;
    Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
}

pub fn fstat(fd: BorrowedFd<'_>) -> Result<rfs::Stat, Errno> {
    rfs::fstat(fd)
}

pub fn fs_type(fd: BorrowedFd<'_>) -> Result<FsWord, Errno> {
    rfs::fstatfs(fd).map(|s| s.f_type)
}

/// The per-mount flags of the mount `fd` lives on, translated from `ST_*` to `MS_*`.
pub fn mount_flags_of(fd: BorrowedFd<'_>) -> Result<MsFlags, Errno> {
    use rfs::StatVfsMountFlags as St;
    let st = rfs::fstatvfs(fd)?.f_flag;
    let table = [
        (St::RDONLY, MS_RDONLY),
        (St::NOSUID, MS_NOSUID),
        (St::NODEV, MS_NODEV),
        (St::NOEXEC, MS_NOEXEC),
        (St::NOATIME, MS_NOATIME),
        (St::NODIRATIME, MS_NODIRATIME),
        (St::RELATIME, MS_RELATIME),
    ];
    Ok(table
        .iter()
        .filter(|(s, _)| st.contains(*s))
        .fold(0, |acc, (_, ms)| acc | ms))
}

pub fn write_all(fd: BorrowedFd<'_>, data: &[u8]) -> Result<(), Errno> {
    let mut rest = data;
    while !rest.is_empty() {
        let n = rustix::io::write(fd, rest)?;
        if n == 0 {
            return Err(Errno::IO);
        }
        rest = &rest[n..];
    }
    Ok(())
}

pub fn chdir(path: &Path) -> SysResult<()> {
    rustix::process::chdir(path).map_err(fail("chdir", path))
}

pub fn fchdir(fd: &OwnedFd, what: &Path) -> SysResult<()> {
    rustix::process::fchdir(fd).map_err(fail("fchdir", what))
}

pub fn pivot_root_dot(what: &Path) -> SysResult<()> {
    rustix::process::pivot_root(".", ".").map_err(fail("pivot_root", what))
}

pub fn chroot_dot(what: &Path) -> SysResult<()> {
    rustix::process::chroot(".").map_err(fail("chroot", what))
}

/// Sets the umask, returning the previous one.
pub fn umask(mask: u32) -> u32 {
    rustix::process::umask(Mode::from_raw_mode(mask)).as_raw_mode()
}

pub fn exists(path: &Path) -> bool {
    rfs::access(path, rfs::Access::EXISTS).is_ok()
}
