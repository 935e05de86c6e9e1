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
