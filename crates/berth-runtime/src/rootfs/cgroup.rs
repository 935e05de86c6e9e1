//! The `cgroup` mount: cgroup2 on a unified host; on a v1/hybrid host a tmpfs holding one
//! mount per hierarchy (fresh cgroup mounts rooted at the container's cgroup when it has a
//! cgroup namespace, else binds of the container's cgroup directories), like runc.

use std::ffi::{CString, OsStr};
use std::os::fd::AsFd;
use std::path::Path;

use berth_cgroups::V1Mount;
use rustix::io::Errno;

use super::error::RootfsError;
use super::mounts::{Entry, MountCtx, propagate, remount_bind};
use super::options::REMOUNT_RELEVANT;
use super::resolve::{Kind, child_dir};
use super::sys::{self, SysError};

const HOST_CGROUP_ROOT: &str = "/sys/fs/cgroup";
const BASE_FLAGS: sys::MsFlags = sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC;

pub fn mount(ctx: &mut MountCtx<'_>, entry: &Entry<'_>) -> Result<(), RootfsError> {
    let unified = rustix::fs::statfs(HOST_CGROUP_ROOT)
        .map(|s| s.f_type == sys::CGROUP2_SUPER_MAGIC)
        .map_err(|errno| {
            entry.err(SysError {
                call: "statfs",
                path: HOST_CGROUP_ROOT.into(),
                errno,
            })
        })?;
    let membership = read_proc_self_cgroup(entry)?;
    if unified {
        v2(ctx, entry, &membership)
    } else {
        v1(ctx, entry, &membership)
    }
}

fn has_cgroup_namespace(ctx: &MountCtx<'_>) -> bool {
    use oci_spec::runtime::LinuxNamespaceType;
    ctx.cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup))
}

/// One line of /proc/self/cgroup: `hierarchy-id:controllers:path`.
struct Membership {
    controllers: String,
    path: String,
}

fn read_proc_self_cgroup(entry: &Entry<'_>) -> Result<Vec<Membership>, RootfsError> {
    let file = "/proc/self/cgroup";
    let text = std::fs::read_to_string(file).map_err(|source| RootfsError::CgroupInfo {
        destination: entry.destination.to_path_buf(),
        file: file.into(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some(Membership {
                controllers: controllers.to_string(),
                path: path.to_string(),
            })
        })
        .collect())
}

fn v2(
    ctx: &mut MountCtx<'_>,
    entry: &Entry<'_>,
    membership: &[Membership],
) -> Result<(), RootfsError> {
    let fd = ctx
        .root
        .open_or_create(entry.destination, Kind::Dir, false)
        .map_err(|e| entry.err(e))?;
    let flags = entry.opts.flags & !(sys::MS_BIND | sys::MS_REC | sys::MS_REMOUNT);
    let target = sys::fd_path(fd.as_fd());
    match sys::mount(
        OsStr::new("cgroup2"),
        &target,
        "cgroup2",
        flags,
        None,
        entry.destination,
    ) {
        // Without a cgroup namespace of our own (or in a user namespace) the kernel refuses a
        // fresh cgroup2 mount: bind the container's own cgroup directory instead.
        Err(e) if e.errno == Errno::PERM || e.errno == Errno::BUSY => {
            let own = membership
                .iter()
                .find(|m| m.controllers.is_empty())
                .map(|m| m.path.as_str());
            let source =
                Path::new(HOST_CGROUP_ROOT).join(own.unwrap_or("/").trim_start_matches('/'));
            bind_one(ctx, entry, &source, entry.destination, fd)?;
        }
        other => other.map_err(|e| entry.err(e))?,
    }
    propagate(ctx.root, entry)
}

fn v1(
    ctx: &mut MountCtx<'_>,
    entry: &Entry<'_>,
    membership: &[Membership],
) -> Result<(), RootfsError> {
    let fd = ctx
        .root
        .open_or_create(entry.destination, Kind::Dir, false)
        .map_err(|e| entry.err(e))?;
    let data = CString::from(c"mode=755");
    sys::mount(
        OsStr::new("tmpfs"),
        &sys::fd_path(fd.as_fd()),
        "tmpfs",
        BASE_FLAGS,
        Some(&data),
        entry.destination,
    )
    .map_err(|e| entry.err(e))?;
    drop(fd);
    let cgroupns = has_cgroup_namespace(ctx);
    let host_mounts = if cgroupns {
        &[][..]
    } else {
        host_v1_mounts(entry)?
    };
    let tmpfs = ctx.root.open(entry.destination, false).map_err(|errno| {
        entry.err(SysError {
            call: "openat2",
            path: ctx.root.display(entry.destination),
            errno,
        })
    })?;
    for hierarchy in membership.iter().filter(|m| !m.controllers.is_empty()) {
        let name = hierarchy
            .controllers
            .strip_prefix("name=")
            .unwrap_or(&hierarchy.controllers);
        let host = host_mounts
            .iter()
            .find(|h| h.serves(&hierarchy.controllers));
        let name = host
            .and_then(|h| h.mountpoint.file_name())
            .map(OsStr::to_os_string)
            .unwrap_or(name.into());
        if !cgroupns && host.is_none() {
            continue; // a hierarchy the host has not mounted: nothing to show
        }
        let dest = entry.destination.join(&name);
        let fd = child_dir(tmpfs.as_fd(), &name).map_err(|(call, errno)| {
            entry.err(SysError {
                call,
                path: ctx.root.display(&dest),
                errno,
            })
        })?;
        let fresh = if cgroupns {
            fresh_v1(entry, &hierarchy.controllers, &dest, &fd)
        } else {
            Err(Errno::PERM)
        };
        match fresh {
            Ok(()) => {}
            // No cgroup namespace, or a user namespace (v1 cannot be mounted there): bind.
            Err(Errno::PERM) => {
                let source = match host {
                    Some(h) => h.dir_of(&hierarchy.path),
                    None => Path::new(HOST_CGROUP_ROOT).join(&name),
                };
                bind_one(ctx, entry, &source, &dest, fd)?;
            }
            Err(errno) => {
                return Err(entry.err(SysError {
                    call: "mount",
                    path: dest,
                    errno,
                }));
            }
        }
        link_co_mounted(entry, &tmpfs, &name)?;
    }
    if entry.opts.flags & sys::MS_RDONLY != 0 {
        remount_bind(ctx.root, entry.destination, BASE_FLAGS | sys::MS_RDONLY, 0)
            .map_err(|e| entry.err(e))?;
    }
    propagate(ctx.root, entry)
}

/// A fresh mount of one v1 hierarchy; in a cgroup namespace its root is the container's cgroup.
fn fresh_v1(
    entry: &Entry<'_>,
    controllers: &str,
    dest: &Path,
    fd: &std::os::fd::OwnedFd,
) -> Result<(), Errno> {
    let flags = BASE_FLAGS | (entry.opts.flags & sys::MS_RDONLY);
    let source = if controllers.starts_with("name=") {
        "systemd"
    } else {
        "cgroup"
    };
    let data = CString::new(controllers).map_err(|_| Errno::INVAL)?;
    sys::mount(
        OsStr::new(source),
        &sys::fd_path(fd.as_fd()),
        "cgroup",
        flags,
        Some(&data),
        dest,
    )
    .map_err(|e| e.errno)
}

fn bind_one(
    ctx: &MountCtx<'_>,
    entry: &Entry<'_>,
    source: &Path,
    dest: &Path,
    fd: std::os::fd::OwnedFd,
) -> Result<(), RootfsError> {
    let flags = sys::MS_BIND | sys::MS_REC;
    sys::mount(
        source.as_os_str(),
        &sys::fd_path(fd.as_fd()),
        "",
        flags,
        None,
        dest,
    )
    .map_err(|e| {
        entry.err(SysError {
            path: source.to_path_buf(),
            ..e
        })
    })?;
    drop(fd);
    if entry.opts.flags & REMOUNT_RELEVANT != 0 {
        remount_bind(ctx.root, dest, entry.opts.flags, entry.opts.cleared)
            .map_err(|e| entry.err(e))?;
    }
    Ok(())
}

/// `cpu -> cpu,cpuacct` style links for co-mounted controllers, as on the host.
fn link_co_mounted(
    entry: &Entry<'_>,
    tmpfs: &std::os::fd::OwnedFd,
    name: &OsStr,
) -> Result<(), RootfsError> {
    let Some(joined) = name.to_str().filter(|n| n.contains(',')) else {
        return Ok(());
    };
    for part in joined.split(',') {
        match sys::symlinkat(joined, tmpfs.as_fd(), OsStr::new(part)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => {
                return Err(entry.err(SysError {
                    call: "symlinkat",
                    path: entry.destination.join(part),
                    errno,
                }));
            }
        }
    }
    Ok(())
}

/// The host's v1 hierarchies, from berth-cgroups' cached read of /proc/self/mountinfo (the
/// parent runtime process filled that cache before forking this init).
fn host_v1_mounts(entry: &Entry<'_>) -> Result<&'static [V1Mount], RootfsError> {
    berth_cgroups::v1_mounts().map_err(|source| RootfsError::CgroupHierarchies {
        destination: entry.destination.to_path_buf(),
        source,
    })
}
