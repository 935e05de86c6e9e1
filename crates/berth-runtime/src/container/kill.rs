//! `kill`: send a signal to the init, or with `--all` to every process in the cgroup.

use std::path::Path;

use super::ContainerId;
use super::lookup::{self, LookupError};
use super::record::Status;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum KillError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("unknown signal {name:?} (use a name like KILL, SIGTERM or a number)")]
    UnknownSignal { name: String },
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("sending signal {signal} to pid {pid}: {source}")]
    Send {
        signal: i32,
        pid: i32,
        source: std::io::Error,
    },
    #[error("listing the cgroup's processes: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
}

/// A signal number parsed from `KILL`, `SIGKILL`, `sigkill` or `9`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(pub i32);

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

impl Signal {
    pub fn parse(text: &str) -> Result<Signal, KillError> {
        if let Ok(n) = text.parse::<i32>()
            && (1..=64).contains(&n)
        {
            return Ok(Signal(n));
        }
        let upper = text.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        NAMES
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, n)| Signal(*n))
            .ok_or_else(|| KillError::UnknownSignal {
                name: text.to_string(),
            })
    }
}

pub fn kill(root: &Path, id: &ContainerId, signal: Signal, all: bool) -> Result<(), KillError> {
    let found = lookup::find(root, id)?;
    if found.status == Status::Stopped {
        return Err(KillError::NotRunning { id: id.to_string() });
    }
    let send = |pid: i32| match sys::proc::kill(pid, signal.0) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        other => other.map_err(|source| KillError::Send {
            signal: signal.0,
            pid,
            source,
        }),
    };
    if !all {
        return send(found.record.pid);
    }
    let cgroup = berth_cgroups::manager(&found.record.cgroups_path)?;
    // A frozen cgroup cannot act on signals (SIGKILL included) until thawed.
    let frozen = found.status == Status::Paused;
    for pid in cgroup.pids()? {
        send(pid)?;
    }
    if frozen {
        cgroup.freeze(berth_cgroups::FreezerState::Thawed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Signal;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(Signal::parse("KILL").unwrap(), Signal(9));
        assert_eq!(Signal::parse("SIGTERM").unwrap(), Signal(15));
        assert_eq!(Signal::parse("sigusr1").unwrap(), Signal(libc::SIGUSR1));
        assert_eq!(Signal::parse("2").unwrap(), Signal(2));
        assert!(Signal::parse("NOPE").is_err());
        assert!(Signal::parse("0").is_err());
    }
}
