//! Making the rootfs the process's `/`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use super::error::RootfsError;
use super::sys::{self, SysError};

/// pivot_root(".", "."): the old root ends up stacked on the new one; make it rslave so the
/// unmount cannot propagate to the host, then lazily detach it.
pub fn pivot_root(rootfs: &Path) -> Result<(), RootfsError> {
    let err = |source| RootfsError::Pivot {
        rootfs: rootfs.to_path_buf(),
        source,
    };
    let old_root = Path::new("/");
    let old_root_fd = sys::open_dir_path(old_root).map_err(err)?;
    sys::chdir(rootfs).map_err(err)?;
    sys::pivot_root_dot(rootfs).map_err(err)?;
    // Our cwd is still the new root's dentry, and "." in mount(2) does not cross the old root
    // stacked on it: step onto the old root itself, or the rslave below would hit our mounts.
    sys::fchdir(&old_root_fd, old_root).map_err(err)?;
    drop(old_root_fd);
    sys::mount_flags(".", sys::MS_SLAVE | sys::MS_REC, old_root).map_err(err)?;
    sys::umount_detach(".", old_root).map_err(err)?;
    sys::chdir(Path::new("/")).map_err(err)
}

/// `--no-pivot` (runc's msMoveRoot): hide the host's full proc and sysfs mounts (the kernel
/// judges new procfs/sysfs mounts by every mount it can see), move the rootfs onto `/`, chroot.
pub fn move_root(rootfs: &Path) -> Result<(), RootfsError> {
    let err = |source| RootfsError::Pivot {
        rootfs: rootfs.to_path_buf(),
        source,
    };
    let mountinfo = "/proc/self/mountinfo";
    let text = std::fs::read_to_string(mountinfo).map_err(|e| {
        err(SysError {
            call: "read",
            path: mountinfo.into(),
            errno: Errno::from_io_error(&e).unwrap_or(Errno::IO),
        })
    })?;
    for mountpoint in host_proc_and_sys(&text, rootfs) {
        match sys::mount_flags(&mountpoint, sys::MS_SLAVE | sys::MS_REC, &mountpoint) {
            Err(e) if e.errno == Errno::NOENT => continue,
            other => other.map_err(err)?,
        }
        match sys::umount_detach(&mountpoint, &mountpoint) {
            Ok(()) => {}
            // Locked in a user namespace: cover it instead.
            Err(e) if e.errno == Errno::INVAL || e.errno == Errno::PERM => {
                sys::mount(
                    OsStr::new("tmpfs"),
                    &mountpoint,
                    "tmpfs",
                    0,
                    None,
                    &mountpoint,
                )
                .map_err(err)?;
            }
            Err(e) => return Err(err(e)),
        }
    }
    sys::chdir(rootfs).map_err(err)?;
    sys::mount(rootfs.as_os_str(), "/", "", sys::MS_MOVE, None, rootfs).map_err(err)?;
    sys::chroot_dot(rootfs).map_err(err)?;
    sys::chdir(Path::new("/")).map_err(err)
}

/// Mount points of whole (root "/") proc and sysfs mounts outside the rootfs, deepest first.
fn host_proc_and_sys(mountinfo: &str, rootfs: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            let mut left = left.split(' ');
            let root = left.nth(3)?;
            let mountpoint = PathBuf::from(left.next()?);
            let whole = root == "/" && (fstype == "proc" || fstype == "sysfs");
            (whole && !mountpoint.starts_with(rootfs)).then_some(mountpoint)
        })
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_host_proc_and_sysfs_outside_the_rootfs() {
        let info = "\
22 1 0:21 / /proc rw - proc proc rw
23 1 0:22 / /sys rw - sysfs sysfs rw
24 1 0:23 /x /mnt/part rw - proc proc rw
25 1 0:24 / /b/rootfs/proc rw - proc proc rw
26 23 0:25 / /sys/fs/cgroup rw - tmpfs tmpfs rw";
        let found = host_proc_and_sys(info, Path::new("/b/rootfs"));
        assert_eq!(found, vec![PathBuf::from("/proc"), PathBuf::from("/sys")]);
    }
}
