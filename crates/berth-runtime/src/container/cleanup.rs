//! Best-effort, complete teardown: kill the init, remove the cgroup, remove the state dir;
//! every failure is collected, none stops the rest.

use std::path::PathBuf;

use super::record;
use crate::sys;

/// One failed teardown step.
#[derive(Debug, thiserror::Error)]
pub enum TeardownError {
    #[error("killing pid {pid}: {source}")]
    Kill { pid: i32, source: std::io::Error },
    #[error("pid {pid} did not exit after SIGKILL")]
    StillAlive { pid: i32 },
    #[error("removing cgroup {path}: {source}")]
    Cgroup {
        path: String,
        source: berth_cgroups::CgroupError,
    },
    #[error("removing state dir {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Every failure of one teardown, reported together.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct TeardownErrors(pub Vec<TeardownError>);

/// Undoes a half-made `create` when dropped, unless disarmed.
#[derive(Debug)]
pub struct Teardown {
    dir: PathBuf,
    pid: Option<i32>,
    cgroup: Option<String>,
    armed: bool,
}

impl Teardown {
    pub fn new(dir: PathBuf) -> Teardown {
        Teardown {
            dir,
            pid: None,
            cgroup: None,
            armed: true,
        }
    }
    pub fn set_pid(&mut self, pid: i32) {
        self.pid = Some(pid);
    }
    pub fn set_cgroup(&mut self, path: String) {
        self.cgroup = Some(path);
    }
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let errors = teardown(self.pid, self.cgroup.as_deref(), Some(&self.dir));
        for e in errors {
            tracing::warn!("cleanup after failed create: {e}");
        }
    }
}

/// Kills `pid` (if alive) and waits for it, destroys the cgroup, removes `dir`.
pub fn teardown(
    pid: Option<i32>,
    cgroup: Option<&str>,
    dir: Option<&std::path::Path>,
) -> Vec<TeardownError> {
    let mut errors = Vec::new();
    if let Some(pid) = pid
        && let Err(e) = kill_and_wait(pid)
    {
        errors.push(e);
    }
    if let Some(path) = cgroup {
        let result = berth_cgroups::manager(path).and_then(|m| m.destroy());
        if let Err(source) = result {
            errors.push(TeardownError::Cgroup {
                path: path.to_string(),
                source,
            });
        }
    }
    if let Some(dir) = dir {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                errors.push(TeardownError::StateDir {
                    path: dir.to_path_buf(),
                    source: e,
                });
            }
            _ => {}
        }
    }
    errors
}

/// SIGKILL and wait (reaping it if it is our child).
pub fn kill_and_wait(pid: i32) -> Result<(), TeardownError> {
    match sys::proc::kill(pid, libc::SIGKILL) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(()),
        Err(source) => return Err(TeardownError::Kill { pid, source }),
        Ok(()) => {}
    }
    match sys::proc::wait_exit(pid) {
        Ok(_) => Ok(()),
        Err(_) if record::wait_gone(pid, 10_000) => Ok(()),
        Err(_) => Err(TeardownError::StillAlive { pid }),
    }
}
