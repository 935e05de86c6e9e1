//! Shedding the setup's memory: once the container runs, the shim re-executes itself into
//! its supervise mode, handing over the container's stdio and its sockets as inherited fds.
//! The fresh image only touches the supervisor's code, not the pages `create` used (spec
//! parsing, the runtime library), which keeps the long-lived shim small.
//!
//! The hand-over travels in argv: `--supervise PID:STDOUT:STDERR:STDIN:MASTER:ATTACH:CONTROL:REPORT`
//! (fd numbers, `-` for none) and `--cgroups-path PATH`. The new image reports readiness.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;

use crate::setup::Stdio;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum ReexecError {
    #[error("malformed --supervise value {value:?}")]
    Malformed { value: String },
    #[error("inherited fd {fd} is not open: {source}")]
    NotOpen { fd: RawFd, source: std::io::Error },
    #[error("keeping fd {fd} open across exec: {source}")]
    Inherit { fd: RawFd, source: std::io::Error },
    #[error("re-executing the shim through /proc/self/exe: {source}")]
    Exec { source: std::io::Error },
    #[error("the readiness pipe was already used")]
    NoReportPipe,
}

/// What the supervising image needs from the setup image.
#[derive(Debug)]
pub struct Handover {
    pub init_pid: i32,
    pub cgroups_path: String,
    pub stdio: Stdio,
    pub attach: UnixListener,
    pub control: UnixListener,
}

/// What the supervising image adopts: the hand-over plus the readiness pipe.
#[derive(Debug)]
pub struct Adopted {
    pub handover: Handover,
    pub report: File,
}

/// The fd numbers of a hand-over, as they travel in argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverFds {
    pub init_pid: i32,
    pub stdout: Option<RawFd>,
    pub stderr: Option<RawFd>,
    pub stdin: Option<RawFd>,
    pub master: Option<RawFd>,
    pub attach: RawFd,
    pub control: RawFd,
    pub report: RawFd,
}

impl HandoverFds {
    pub fn encode(&self) -> String {
        let opt = |fd: Option<RawFd>| fd.map_or_else(|| "-".to_string(), |f| f.to_string());
        format!(
            "{}:{}:{}:{}:{}:{}:{}:{}",
            self.init_pid,
            opt(self.stdout),
            opt(self.stderr),
            opt(self.stdin),
            opt(self.master),
            self.attach,
            self.control,
            self.report
        )
    }

    pub fn decode(value: &str) -> Result<HandoverFds, ReexecError> {
        let malformed = || ReexecError::Malformed {
            value: value.to_string(),
        };
        let parts: Vec<&str> = value.split(':').collect();
        let [pid, out, err, stdin, master, attach, control, report] = parts[..] else {
            return Err(malformed());
        };
        let num = |s: &str| {
            s.parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(malformed)
        };
        let opt = |s: &str| if s == "-" { Ok(None) } else { num(s).map(Some) };
        Ok(HandoverFds {
            init_pid: num(pid)?,
            stdout: opt(out)?,
            stderr: opt(err)?,
            stdin: opt(stdin)?,
            master: opt(master)?,
            attach: num(attach)?,
            control: num(control)?,
            report: num(report)?,
        })
    }

    /// Takes ownership of the inherited fds (each checked to be open).
    pub fn adopt(&self, cgroups_path: String) -> Result<Adopted, ReexecError> {
        let take =
            |fd: RawFd| sys::adopt_fd(fd).map_err(|source| ReexecError::NotOpen { fd, source });
        let take_opt = |fd: Option<RawFd>| fd.map(take).transpose();
        let stdio = match (self.master, self.stdout, self.stderr) {
            (Some(master), _, _) => Stdio::Tty {
                master: File::from(take(master)?),
            },
            (None, Some(out), Some(err)) => Stdio::Pipes {
                stdin: take_opt(self.stdin)?.map(File::from),
                stdout: File::from(take(out)?),
                stderr: File::from(take(err)?),
            },
            _ => {
                return Err(ReexecError::Malformed {
                    value: self.encode(),
                });
            }
        };
        Ok(Adopted {
            handover: Handover {
                init_pid: self.init_pid,
                cgroups_path,
                stdio,
                attach: UnixListener::from(take(self.attach)?),
                control: UnixListener::from(take(self.control)?),
            },
            report: File::from(take(self.report)?),
        })
    }
}

/// Clears close-on-exec and gives up ownership: the fd must survive the exec.
fn inherit(fd: impl Into<OwnedFd>) -> Result<RawFd, ReexecError> {
    let fd: OwnedFd = fd.into();
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty()).map_err(|e| {
        ReexecError::Inherit {
            fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
            source: e.into(),
        }
    })?;
    Ok(fd.into_raw_fd())
}

/// Re-executes `/proc/self/exe` with `base_args` plus the hand-over (`report` is a duplicate of
/// the readiness pipe for the new image); returns only on failure.
pub fn exec_supervisor(base_args: Vec<OsString>, h: Handover, report: OwnedFd) -> ReexecError {
    match exec_inner(base_args, h, report) {
        Ok(e) | Err(e) => e,
    }
}

fn exec_inner(
    base_args: Vec<OsString>,
    h: Handover,
    report: OwnedFd,
) -> Result<ReexecError, ReexecError> {
    let (stdout, stderr, stdin, master) = match h.stdio {
        Stdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => (
            Some(inherit(stdout)?),
            Some(inherit(stderr)?),
            stdin.map(inherit).transpose()?,
            None,
        ),
        Stdio::Tty { master } => (None, None, None, Some(inherit(master)?)),
    };
    let fds = HandoverFds {
        init_pid: h.init_pid,
        stdout,
        stderr,
        stdin,
        master,
        attach: inherit(h.attach)?,
        control: inherit(h.control)?,
        report: inherit(report)?,
    };
    let error = std::process::Command::new("/proc/self/exe")
        .args(base_args)
        .arg("--supervise")
        .arg(fds.encode())
        .arg("--cgroups-path")
        .arg(&h.cgroups_path)
        .exec();
    Ok(ReexecError::Exec { source: error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let fds = HandoverFds {
            init_pid: 42,
            stdout: Some(3),
            stderr: Some(4),
            stdin: None,
            master: None,
            attach: 5,
            control: 6,
            report: 7,
        };
        assert_eq!(HandoverFds::decode(&fds.encode()).unwrap(), fds);
        for bad in [
            "",
            "1:2",
            "x:3:4:-:-:5:6:7",
            "1:3:4:-:-:5:-1:7",
            "1:3:4:-:-:5:6:7:8",
        ] {
            assert!(HandoverFds::decode(bad).is_err(), "{bad:?}");
        }
    }
}
