//! Handles on network namespaces and running code inside one.
//!
//! `setns(CLONE_NEWNET)` changes only the calling thread, so work inside a namespace runs on a
//! short-lived dedicated thread; the daemon's own threads never change namespace. A netlink
//! socket opened on such a thread stays bound to that namespace after the thread ends.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::LinkError;

/// An open network namespace (keeps it alive while held).
#[derive(Debug)]
pub struct NetnsHandle {
    path: PathBuf,
    fd: OwnedFd,
}

impl NetnsHandle {
    /// Opens a namespace file such as `/proc/<pid>/ns/net` or `/run/netns/<name>`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LinkError> {
        let path = path.as_ref().to_path_buf();
        let fd = rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(
            |errno| LinkError::OpenNetns {
                path: path.clone(),
                source: errno.into(),
            },
        )?;
        Ok(Self { path, fd })
    }

    /// The network namespace of a running process.
    pub fn of_pid(pid: u32) -> Result<Self, LinkError> {
        Self::open(format!("/proc/{pid}/ns/net"))
    }

    /// A namespace named with `ip netns add NAME`.
    pub fn named(name: &str) -> Result<Self, LinkError> {
        Self::open(Path::new("/run/netns").join(name))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Runs `work` on a fresh thread that has entered this namespace, and returns its result.
    pub fn run<R: Send>(&self, work: impl FnOnce() -> R + Send) -> Result<R, LinkError> {
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                move_into_link_name_space(self.fd.as_fd(), Some(LinkNameSpaceType::Network))
                    .map_err(|errno| LinkError::EnterNetns {
                        path: self.path.clone(),
                        source: errno.into(),
                    })?;
                Ok(work())
            });
            handle.join().unwrap_or_else(|_| {
                Err(LinkError::NetnsThread {
                    path: self.path.clone(),
                })
            })
        })
    }
}

impl NetnsHandle {
    /// Creates a new, empty network namespace kept alive by a bind mount on `path` (what
    /// `ip netns add` does, at a path of our choosing), and opens it. `path`'s directory must
    /// exist; `path` itself must not.
    pub fn create_persistent(path: impl AsRef<Path>) -> Result<Self, LinkError> {
        let path = path.as_ref().to_path_buf();
        let error = |step: &'static str| {
            let path = path.clone();
            move |source: std::io::Error| LinkError::CreateNetns { path, step, source }
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(error("create mount point"))?;
        // The new namespace is made on a thread of its own, which mounts it and then ends:
        // the daemon's other threads never leave the host namespace.
        let made = std::thread::scope(|scope| {
            scope
                .spawn(|| -> std::io::Result<()> {
                    super::sys::unshare_netns_of_this_thread()?;
                    rustix::mount::mount_bind("/proc/thread-self/ns/net", &path)
                        .map_err(std::io::Error::from)
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")))
        });
        if let Err(source) = made {
            let _ = std::fs::remove_file(&path);
            return Err(error("unshare and bind mount")(source));
        }
        Self::open(&path).inspect_err(|_| {
            let _ = remove_persistent(&path);
        })
    }
}

impl NetnsHandle {
    /// Keeps this namespace reachable at `path` too (a bind mount, as `ip netns attach`
    /// does): `--network container:<id>` gives the joining container the other's namespace at
    /// a path of its own. `path`'s directory must exist; `path` itself must not. Undone with
    /// [`remove_persistent`], which leaves the namespace to its other holders.
    pub fn persist_at(&self, path: impl AsRef<Path>) -> Result<NetnsHandle, LinkError> {
        let path = path.as_ref().to_path_buf();
        let error = |step: &'static str| {
            let path = path.clone();
            move |source: std::io::Error| LinkError::CreateNetns { path, step, source }
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(error("create mount point"))?;
        if let Err(errno) = rustix::mount::mount_bind(&self.path, &path) {
            let _ = std::fs::remove_file(&path);
            return Err(error("bind mount")(errno.into()));
        }
        Self::open(&path).inspect_err(|_| {
            let _ = remove_persistent(&path);
        })
    }
}

/// Unmounts and deletes a namespace made by [`NetnsHandle::create_persistent`]; the namespace
/// itself ends when nothing else holds it. `Ok(false)` if `path` did not exist.
pub fn remove_persistent(path: impl AsRef<Path>) -> Result<bool, LinkError> {
    let path = path.as_ref();
    let error = |step: &'static str| {
        move |source: std::io::Error| LinkError::RemoveNetns {
            path: path.to_path_buf(),
            step,
            source,
        }
    };
    if !path.exists() {
        return Ok(false);
    }
    match rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH) {
        // EINVAL: not a mount point (a crash between create and mount); still remove the file.
        Ok(()) | Err(rustix::io::Errno::INVAL) => {}
        Err(errno) => return Err(error("unmount")(errno.into())),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(error("delete mount point")(e)),
    }
}
