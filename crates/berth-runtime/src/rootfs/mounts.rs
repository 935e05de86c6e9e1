//! Performing one `spec.mounts` entry inside the rootfs (before pivot), like runc's
//! mountToRootfs: new filesystems, bind mounts (with the remount that makes their flags stick),
//! propagation changes, and the /proc guard.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Mount;
use rustix::fs::FileType;
use rustix::io::Errno;

use super::RootfsConfig;
use super::cgroup;
use super::error::{MountRejection, RootfsError};
use super::options::{ATIME, LOCKABLE, MountOptions, REMOUNT_RELEVANT};
use super::resolve::{Kind, Root};
use super::sys::{self, SysError, SysResult};

/// Files under /proc that may be over-mounted (lxcfs emulates them), as in runc.
const PROC_MOUNT_ALLOWED: &[&str] = &[
    "proc/cpuinfo",
    "proc/diskstats",
    "proc/meminfo",
    "proc/stat",
    "proc/swaps",
    "proc/uptime",
    "proc/loadavg",
    "proc/slabinfo",
    "proc/sys/kernel/ns_last_pid",
    "proc/sys/crypto/fips_enabled",
];

/// State shared by the mounts of one `prepare`.
pub struct MountCtx<'a> {
    pub cfg: &'a RootfsConfig<'a>,
    pub root: &'a Root,
    /// `/dev` is a bind mount: the devices come from there, we create none.
    pub dev_bind: bool,
    /// `/dev` was asked read-only: mounted rw, remounted with these flags after the devices
    /// are made.
    pub dev_readonly: Option<sys::MsFlags>,
}

/// One spec mount, parsed, with what an error needs to name it.
pub struct Entry<'m> {
    pub index: usize,
    pub kind: &'m str,
    pub destination: &'m Path,
    /// The destination cleaned lexically and made relative (`proc/sys`), for policy checks.
    pub clean: PathBuf,
    pub source: Option<&'m Path>,
    pub opts: MountOptions,
}

impl Entry<'_> {
    pub fn err(&self, source: SysError) -> RootfsError {
        RootfsError::Mount {
            index: self.index,
            kind: self.kind.to_string(),
            destination: self.destination.to_path_buf(),
            source,
        }
    }

    pub fn reject(&self, reason: MountRejection) -> RootfsError {
        RootfsError::InvalidMount {
            index: self.index,
            kind: self.kind.to_string(),
            destination: self.destination.to_path_buf(),
            reason,
        }
    }

    /// The data string with one more option appended.
    pub fn data_with(&self, extra: &str) -> Result<CString, RootfsError> {
        let joined = match self.opts.data.as_str() {
            "" => extra.to_string(),
            data => format!("{data},{extra}"),
        };
        CString::new(joined).map_err(|_| self.reject(MountRejection::NulByte))
    }

    pub fn data(&self) -> Result<Option<CString>, RootfsError> {
        if self.opts.data.is_empty() {
            return Ok(None);
        }
        CString::new(self.opts.data.as_str())
            .map(Some)
            .map_err(|_| self.reject(MountRejection::NulByte))
    }
}

/// Whether the mount can be made before the init is in the container's cgroup: fresh
/// filesystems other than cgroup ones. Binds are left for later, as their source might be
/// (or lead to) the cgroup directory the parent is still creating.
pub fn independent_of_cgroup(m: &Mount) -> bool {
    let kind = m.typ().as_deref().unwrap_or("");
    let bind =
        kind == "bind" || MountOptions::parse(m.options().as_deref().unwrap_or(&[])).is_bind();
    !bind && !matches!(kind, "cgroup" | "cgroup2" | "" | "none")
}

pub fn perform(ctx: &mut MountCtx<'_>, index: usize, m: &Mount) -> Result<(), RootfsError> {
    let kind = m.typ().as_deref().unwrap_or("");
    let mut opts = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
    if kind == "bind" {
        opts.flags |= sys::MS_BIND;
    }
    // `"type": "none"` (or none at all) with a bind option is a bind mount: name it so.
    let kind = if opts.is_bind() && matches!(kind, "" | "none") {
        "bind"
    } else {
        kind
    };
    let entry = Entry {
        index,
        kind,
        destination: m.destination(),
        clean: lexical_clean(m.destination()),
        source: m.source().as_deref(),
        opts,
    };
    if entry.opts.idmap || m.uid_mappings().is_some() || m.gid_mappings().is_some() {
        return Err(entry.reject(MountRejection::IdMapped));
    }
    check_proc_destination(ctx, &entry)?;
    if entry.opts.is_bind() {
        return bind(ctx, &entry);
    }
    match kind {
        "cgroup" | "cgroup2" => cgroup::mount(ctx, &entry),
        "proc" => new_filesystem(ctx, &entry, true),
        "sysfs" => sysfs(ctx, &entry),
        _ => new_filesystem(ctx, &entry, false),
    }
}

/// Mounts a fresh filesystem of `entry.kind` (proc, tmpfs, devpts, mqueue, ...); `strict`
/// refuses symlinks on the way and non-directory targets (for proc and sysfs).
fn new_filesystem(
    ctx: &mut MountCtx<'_>,
    entry: &Entry<'_>,
    strict: bool,
) -> Result<(), RootfsError> {
    let inherited_mode = existing_dir_mode_for_tmpfs(ctx, entry);
    let fd = target(ctx, entry, Kind::Dir, strict)?;
    let mut flags = entry.opts.flags & !sys::MS_REMOUNT;
    if entry.clean == Path::new("dev") && flags & sys::MS_RDONLY != 0 {
        ctx.dev_readonly = Some(flags);
        flags &= !sys::MS_RDONLY;
    }
    let source = entry
        .source
        .map(Path::as_os_str)
        .unwrap_or(OsStr::new(entry.kind));
    let data = match inherited_mode {
        Some(mode) => Some(entry.data_with(&format!("mode={mode:o}"))?),
        None => entry.data()?,
    };
    sys::mount(
        source,
        &sys::fd_path(fd.as_fd()),
        entry.kind,
        flags,
        data.as_deref(),
        entry.destination,
    )
    .map_err(|e| entry.err(e))?;
    propagate(ctx.root, entry)
}

/// A tmpfs over an existing directory keeps that directory's mode unless the options give
/// `mode=` (runc does the same, so `/tmp` stays 1777).
fn existing_dir_mode_for_tmpfs(ctx: &MountCtx<'_>, entry: &Entry<'_>) -> Option<u32> {
    let gives_mode = entry.opts.data.split(',').any(|o| o.starts_with("mode="));
    if entry.kind != "tmpfs" || gives_mode {
        return None;
    }
    let fd = ctx.root.open(entry.destination, false).ok()?;
    let st = sys::fstat(fd.as_fd()).ok()?;
    (FileType::from_raw_mode(st.st_mode) == FileType::Directory).then_some(st.st_mode & 0o7777)
}

/// sysfs needs a network namespace owned by our user namespace; without one runc bind-mounts
/// the host's /sys instead, and so do we.
fn sysfs(ctx: &mut MountCtx<'_>, entry: &Entry<'_>) -> Result<(), RootfsError> {
    match new_filesystem(ctx, entry, true) {
        Err(RootfsError::Mount {
            source: SysError {
                errno: Errno::PERM, ..
            },
            ..
        }) if ctx.cfg.in_user_namespace => {}
        other => return other,
    }
    let fd = target(ctx, entry, Kind::Dir, true)?;
    bind_onto(ctx, entry, Path::new("/sys"), fd, sys::MS_REC)
}

fn bind(ctx: &mut MountCtx<'_>, entry: &Entry<'_>) -> Result<(), RootfsError> {
    let source = entry
        .source
        .ok_or_else(|| entry.reject(MountRejection::MissingSource))?;
    let source = ctx.cfg.bundle.join(source);
    let meta = std::fs::metadata(&source).map_err(|e| {
        entry.err(SysError {
            call: "stat",
            path: source.clone(),
            errno: Errno::from_io_error(&e).unwrap_or(Errno::IO),
        })
    })?;
    let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
    if entry.clean == Path::new("dev") {
        ctx.dev_bind = true;
    }
    let fd = target(ctx, entry, kind, false)?;
    bind_onto(ctx, entry, &source, fd, entry.opts.flags & sys::MS_REC)
}

/// Binds `source` onto the opened target, then remounts it with the entry's flags (a bind
/// ignores them on creation) and applies its recursive attributes and propagation.
fn bind_onto(
    ctx: &MountCtx<'_>,
    entry: &Entry<'_>,
    source: &Path,
    target: OwnedFd,
    recursive: sys::MsFlags,
) -> Result<(), RootfsError> {
    let flags = sys::MS_BIND | recursive;
    let target_path = sys::fd_path(target.as_fd());
    sys::mount(
        source.as_os_str(),
        &target_path,
        "",
        flags,
        None,
        entry.destination,
    )
    .map_err(|e| entry.err(e))?;
    drop(target);
    let opts = &entry.opts;
    if opts.flags & REMOUNT_RELEVANT != 0 {
        remount_bind(ctx.root, entry.destination, opts.flags, opts.cleared)
            .map_err(|e| entry.err(e))?;
    }
    propagate(ctx.root, entry)
}

/// Opens (creating if missing) the mount target inside the root, refusing targets that
/// resolve into a procfs unless the spec path is an allowed one.
fn target(
    ctx: &MountCtx<'_>,
    entry: &Entry<'_>,
    kind: Kind,
    strict: bool,
) -> Result<OwnedFd, RootfsError> {
    let fd = ctx
        .root
        .open_or_create(entry.destination, kind, strict)
        .map_err(|e| match e.errno {
            Errno::LOOP if strict => {
                entry.reject(MountRejection::NotOrdinaryDirectory { fs: fs_name(entry) })
            }
            _ => entry.err(e),
        })?;
    if strict {
        let st = sys::fstat(fd.as_fd()).map_err(|e| entry.err(fail("fstat", ctx, entry, e)))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(entry.reject(MountRejection::NotOrdinaryDirectory { fs: fs_name(entry) }));
        }
    }
    let fs = sys::fs_type(fd.as_fd()).map_err(|e| entry.err(fail("fstatfs", ctx, entry, e)))?;
    if fs == sys::PROC_SUPER_MAGIC && !proc_target_allowed(&entry.clean) {
        return Err(entry.reject(MountRejection::InsideProc));
    }
    Ok(fd)
}

fn fs_name(entry: &Entry<'_>) -> &'static str {
    if entry.kind == "proc" {
        "proc"
    } else {
        "sysfs"
    }
}

fn fail(call: &'static str, ctx: &MountCtx<'_>, entry: &Entry<'_>, errno: Errno) -> SysError {
    SysError {
        call,
        path: ctx.root.display(entry.destination),
        errno,
    }
}

/// runc's checkProcMount: only proc (or a bind of a procfs) on /proc itself, and nothing
/// beneath /proc except the lxcfs-style files.
fn check_proc_destination(ctx: &MountCtx<'_>, entry: &Entry<'_>) -> Result<(), RootfsError> {
    if entry.clean == Path::new("proc") {
        if entry.kind == "proc" && !entry.opts.is_bind() {
            return Ok(());
        }
        if entry.opts.is_bind() {
            let source = ctx.cfg.bundle.join(entry.source.unwrap_or(Path::new("")));
            let fd = sys::open_dir_path(&source).map_err(|e| entry.err(e))?;
            if sys::fs_type(fd.as_fd()).ok() == Some(sys::PROC_SUPER_MAGIC) {
                return Ok(());
            }
        }
        return Err(entry.reject(MountRejection::NotProcOnProc));
    }
    if entry.clean.starts_with("proc") && !proc_target_allowed(&entry.clean) {
        return Err(entry.reject(MountRejection::InsideProc));
    }
    Ok(())
}

fn proc_target_allowed(clean: &Path) -> bool {
    clean == Path::new("proc") || PROC_MOUNT_ALLOWED.iter().any(|p| clean == Path::new(p))
}

/// Applies the entry's recursive attributes (`rro`, ...) and then its propagation options to
/// the mount now at its destination.
pub fn propagate(root: &Root, entry: &Entry<'_>) -> Result<(), RootfsError> {
    let opts = &entry.opts;
    if opts.propagation.is_empty() && !opts.has_recursive_attrs() {
        return Ok(());
    }
    let fd = root.open(entry.destination, false).map_err(|errno| {
        entry.err(SysError {
            call: "openat2",
            path: root.display(entry.destination),
            errno,
        })
    })?;
    if opts.has_recursive_attrs() {
        let (set, clear) = (opts.recursive_set, opts.recursive_clear);
        sys::mount_setattr_recursive(fd.as_fd(), set, clear, entry.destination)
            .map_err(|e| entry.err(e))?;
    }
    for flag in &opts.propagation {
        sys::mount_flags(&sys::fd_path(fd.as_fd()), *flag, entry.destination)
            .map_err(|e| entry.err(e))?;
    }
    Ok(())
}

/// `MS_BIND | MS_REMOUNT` with the requested flags on the mount now at `path` (bind mounts
/// ignore flags on creation). In a user namespace the kernel refuses (EPERM) to clear flags
/// the source mount has locked; like runc we then retry with those flags kept, unless the
/// spec explicitly asked to clear one of them.
pub fn remount_bind(
    root: &Root,
    path: &Path,
    flags: sys::MsFlags,
    cleared: sys::MsFlags,
) -> SysResult<()> {
    let fd = root.open(path, false).map_err(|errno| SysError {
        call: "openat2",
        path: root.display(path),
        errno,
    })?;
    remount_fd(fd.as_fd(), &sys::fd_path(fd.as_fd()), path, flags, cleared)
}

pub fn remount_fd(
    fd: std::os::fd::BorrowedFd<'_>,
    target: &str,
    what: &Path,
    flags: sys::MsFlags,
    cleared: sys::MsFlags,
) -> SysResult<()> {
    let want = (flags & !sys::MS_REC) | sys::MS_BIND | sys::MS_REMOUNT;
    let first = match sys::mount_flags(target, want, what) {
        Err(e) if e.errno == Errno::PERM => e,
        other => return other,
    };
    let current = sys::mount_flags_of(fd).map_err(|errno| SysError {
        call: "fstatvfs",
        path: what.into(),
        errno,
    })?;
    let atime_conflict = want & ATIME != 0 && want & ATIME != current & ATIME;
    if current & LOCKABLE & cleared != 0 || atime_conflict {
        return Err(first);
    }
    sys::mount_flags(target, want | (current & LOCKABLE), what)
}

/// `destination` cleaned lexically and relative to the root (`/a/../proc/` → `proc`), for
/// comparing against policy paths. Resolution itself always goes through [`Root`].
pub fn lexical_clean(destination: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in destination.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}
