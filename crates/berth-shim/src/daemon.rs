//! Detaching from whoever started us: the starter forks, the child starts a new session and
//! forks again, and the grandchild (the shim proper: no controlling terminal, not a session
//! leader, stdio on /dev/null) reports readiness back through a pipe. The starter prints that
//! report and exits, so the daemon can wait for a plain child process.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use crate::sys::{self, Fork};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{step}: {source}")]
    Sys {
        step: &'static str,
        source: std::io::Error,
    },
}

fn sys_err(step: &'static str) -> impl FnOnce(std::io::Error) -> DaemonError {
    move |source| DaemonError::Sys { step, source }
}

/// Returns (in the detached shim only) the pipe end on which to send the readiness report.
/// In the starter this never returns: it relays the report and exits.
pub fn detach() -> Result<Reporter, DaemonError> {
    let (read_end, write_end) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| {
            DaemonError::Sys {
                step: "pipe",
                source: e.into(),
            }
        })?;
    match sys::fork().map_err(sys_err("fork"))? {
        Fork::Parent(child) => {
            drop(write_end);
            relay_report(read_end, child)
        }
        Fork::Child => {}
    }
    drop(read_end);
    rustix::process::setsid().map_err(|e| DaemonError::Sys {
        step: "setsid",
        source: e.into(),
    })?;
    match sys::fork().map_err(sys_err("second fork"))? {
        Fork::Parent(_) => sys::exit_now(0),
        Fork::Child => {}
    }
    std::env::set_current_dir("/").map_err(sys_err("chdir /"))?;
    null_stdio().map_err(sys_err("stdio to /dev/null"))?;
    Ok(Reporter::new(File::from(write_end)))
}

/// Points fds 0, 1 and 2 at /dev/null.
pub fn null_stdio() -> std::io::Result<()> {
    let null = File::options().read(true).write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

/// The starter: wait for the report line, print it, exit 0 when it carries a pid.
fn relay_report(read_end: OwnedFd, child: i32) -> ! {
    let mut report = Vec::new();
    let _ = File::from(read_end).read_to_end(&mut report);
    sys::wait_blocking(child);
    let text = String::from_utf8_lossy(&report);
    let line = text.trim_end();
    if line.is_empty() {
        eprintln!("berth-shim: the shim exited before reporting readiness");
        std::process::exit(1);
    }
    println!("{line}");
    let code = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| {
            if v.get("pid").is_some() {
                Some(0)
            } else {
                v.get("exit_code").and_then(|c| c.as_i64())
            }
        })
        .unwrap_or(1);
    std::process::exit(code as i32)
}

/// The shim's end of the readiness pipe; sends one JSON line, once.
#[derive(Debug)]
pub struct Reporter(Option<File>);

impl Reporter {
    pub fn new(pipe: File) -> Reporter {
        Reporter(Some(pipe))
    }

    /// A second handle on the pipe (for the re-executed image).
    pub fn duplicate(&self) -> Option<std::os::fd::OwnedFd> {
        self.0.as_ref()?.try_clone().ok().map(Into::into)
    }

    pub fn send(&mut self, line: &[u8]) {
        if let Some(mut pipe) = self.0.take() {
            let _ = pipe.write_all(line);
            let _ = pipe.write_all(b"\n");
        }
    }
}
