//! /dev contents when the spec does not bind-mount /dev: runc's default devices, the spec's
//! `linux.devices`, the /dev/ptmx link to the devpts instance, and the fd/stdio/core links.
//! In a user namespace mknod is refused, so the host's node is bind-mounted onto an empty file.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use rustix::fs::FileType;
use rustix::io::Errno;

use super::error::{DeviceRejection, RootfsError};
use super::resolve::{Kind, Root};
use super::sys::{self, SysError};

/// runc's default devices: (name, major, minor), all `crw-rw-rw- root root`.
const DEFAULT_DEVICES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const DEV_LINKS: [(&str, &str); 4] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

/// A node to create: where, what, and who owns it.
struct Node<'a> {
    path: PathBuf,
    kind: FileType,
    major: u32,
    minor: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    /// The host node to bind in a user namespace.
    host: &'a Path,
}

pub fn create(
    root: &Root,
    devices: &[LinuxDevice],
    in_user_namespace: bool,
) -> Result<(), RootfsError> {
    let dev = root
        .open_or_create(Path::new("/dev"), Kind::Dir, false)
        .map_err(|source| RootfsError::DevSetup {
            path: "/dev".into(),
            source,
        })?;
    // Modes must be exactly what the spec says, not filtered through our umask.
    let old_umask = sys::umask(0);
    let result = create_all(root, dev.as_fd(), devices, in_user_namespace);
    sys::umask(old_umask);
    result?;
    links(dev.as_fd())
}

fn create_all(
    root: &Root,
    dev: BorrowedFd<'_>,
    devices: &[LinuxDevice],
    userns: bool,
) -> Result<(), RootfsError> {
    let mut made: Vec<PathBuf> = Vec::with_capacity(devices.len());
    for device in devices {
        let node = spec_node(device)?;
        let relative = node.path.strip_prefix("/dev").unwrap_or(&node.path);
        let (parent, name) = match (relative.parent(), relative.file_name()) {
            (Some(p), Some(name)) if !p.as_os_str().is_empty() => {
                let parent = root
                    .open_or_create(&Path::new("/dev").join(p), Kind::Dir, false)
                    .map_err(|source| RootfsError::Device {
                        path: node.path.clone(),
                        source,
                    })?;
                (Some(parent), name)
            }
            (_, Some(name)) => (None, name),
            _ => {
                return Err(RootfsError::InvalidDevice {
                    path: node.path,
                    reason: DeviceRejection::OutsideDev,
                });
            }
        };
        let dir = parent.as_ref().map(OwnedFd::as_fd).unwrap_or(dev);
        make(root, dir, name, &node, userns)?;
        made.push(node.path);
    }
    for (name, major, minor) in DEFAULT_DEVICES {
        let host = Path::new("/dev").join(name);
        if made.contains(&host) {
            continue;
        }
        let node = Node {
            path: host.clone(),
            kind: FileType::CharacterDevice,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
            host: &host,
        };
        make(root, dev, OsStr::new(name), &node, userns)?;
    }
    Ok(())
}

fn spec_node(device: &LinuxDevice) -> Result<Node<'_>, RootfsError> {
    let path = super::mounts::lexical_clean(device.path());
    let path = Path::new("/").join(path);
    let reject = |reason| RootfsError::InvalidDevice {
        path: device.path().clone(),
        reason,
    };
    if !path.starts_with("/dev") || path == Path::new("/dev") {
        return Err(reject(DeviceRejection::OutsideDev));
    }
    let kind = match device.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => FileType::CharacterDevice,
        LinuxDeviceType::B => FileType::BlockDevice,
        LinuxDeviceType::P => FileType::Fifo,
        LinuxDeviceType::A => return Err(reject(DeviceRejection::TypeAll)),
    };
    let number = |n: i64| u32::try_from(n).map_err(|_| reject(DeviceRejection::BadNumber(n)));
    Ok(Node {
        path,
        kind,
        major: number(device.major())?,
        minor: number(device.minor())?,
        mode: device.file_mode().unwrap_or(0o666) & 0o7777,
        uid: device.uid().unwrap_or(0),
        gid: device.gid().unwrap_or(0),
        host: device.path(),
    })
}

fn make(
    root: &Root,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    node: &Node<'_>,
    userns: bool,
) -> Result<(), RootfsError> {
    let fail = |call, errno| RootfsError::Device {
        path: node.path.clone(),
        source: SysError {
            call,
            path: root.display(&node.path),
            errno,
        },
    };
    if userns {
        return bind_host_node(root, dir, name, node);
    }
    let dev = rustix::fs::makedev(node.major, node.minor);
    match sys::mknodat(dir, name, node.kind, node.mode, dev) {
        // Already there (the image ships it, or the spec listed it twice): keep it, like runc.
        Err(Errno::EXIST) => return Ok(()),
        other => other.map_err(|e| fail("mknodat", e))?,
    }
    if node.uid != 0 || node.gid != 0 {
        sys::fchownat_nofollow(dir, name, node.uid, node.gid).map_err(|e| fail("fchownat", e))?;
    }
    Ok(())
}

/// User namespaces cannot mknod: bind the host's node onto an empty file instead.
fn bind_host_node(
    root: &Root,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    node: &Node<'_>,
) -> Result<(), RootfsError> {
    let fail = |source| RootfsError::Device {
        path: node.path.clone(),
        source,
    };
    match sys::mknodat(dir, name, FileType::RegularFile, 0o644, 0) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(errno) => {
            return Err(fail(SysError {
                call: "mknodat",
                path: root.display(&node.path),
                errno,
            }));
        }
    }
    let target = root.open(&node.path, false).map_err(|errno| {
        fail(SysError {
            call: "openat2",
            path: root.display(&node.path),
            errno,
        })
    })?;
    sys::mount(
        node.host.as_os_str(),
        &sys::fd_path(target.as_fd()),
        "",
        sys::MS_BIND,
        None,
        &node.path,
    )
    .map_err(|e| {
        fail(SysError {
            path: node.host.to_path_buf(),
            ..e
        })
    })
}

/// /dev/ptmx → pts/ptmx (the container's own devpts instance) and the fd/stdio/core links.
fn links(dev: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let fail = |name: &str, call, errno| RootfsError::DevSetup {
        path: Path::new("/dev").join(name),
        source: SysError {
            call,
            path: Path::new("/dev").join(name),
            errno,
        },
    };
    match sys::unlinkat(dev, OsStr::new("ptmx")) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(errno) => return Err(fail("ptmx", "unlinkat", errno)),
    }
    sys::symlinkat("pts/ptmx", dev, OsStr::new("ptmx"))
        .map_err(|e| fail("ptmx", "symlinkat", e))?;
    let core = sys::exists(Path::new("/proc/kcore")).then_some(("/proc/kcore", "core"));
    for (target, name) in DEV_LINKS.into_iter().chain(core) {
        match sys::symlinkat(target, dev, OsStr::new(name)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => return Err(fail(name, "symlinkat", errno)),
        }
    }
    Ok(())
}
