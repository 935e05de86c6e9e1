//! OCI hooks: run each with its args/env, the container state as JSON on stdin, and its timeout.
//!
//! `args[0]` is the hook's `argv[0]` (the spec's execv semantics), its environment is exactly
//! `env`, stdout is discarded and stderr is kept (capped) for the error report.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, PidfdFlags};

/// How much of a failing hook's stderr the error keeps.
const STDERR_CAP: usize = 4096;
/// How long to wait for stderr's end after the hook exited.
const STDERR_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hook {path}: the path must be absolute")]
    RelativePath { path: PathBuf },
    #[error("hook {path}: timeout must be a positive number of seconds, got {timeout}")]
    InvalidTimeout { path: PathBuf, timeout: i64 },
    #[error("hook {path}: env entry {entry:?} is not KEY=VALUE")]
    InvalidEnv { path: PathBuf, entry: String },
    #[error("hook {path}: starting it: {source}")]
    Spawn { path: PathBuf, source: io::Error },
    #[error("hook {path}: waiting for it: {source}")]
    Wait { path: PathBuf, source: io::Error },
    #[error("hook {path} did not finish within its {timeout_secs}s timeout and was killed")]
    TimedOut { path: PathBuf, timeout_secs: i64 },
    #[error("hook {path} failed ({status}); stderr: {stderr}")]
    Failed {
        path: PathBuf,
        status: ExitStatus,
        stderr: String,
    },
}

/// Runs `hooks` in order; the first failing hook stops the sequence and is reported by path,
/// exit status and stderr. `state_json` is the OCI state document.
pub fn run(hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    hooks.iter().try_for_each(|hook| run_one(hook, state_json))
}

fn command(hook: &Hook) -> Result<Command, HookError> {
    let path = hook.path();
    let mut cmd = Command::new(path);
    if let Some((argv0, rest)) = hook.args().as_deref().and_then(|a| a.split_first()) {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for entry in hook.env().iter().flatten() {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(HookError::InvalidEnv {
                path: path.clone(),
                entry: entry.clone(),
            });
        };
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Its own process group, so that a timeout kills whatever the hook started too.
    cmd.process_group(0);
    Ok(cmd)
}

fn run_one(hook: &Hook, state_json: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    // The spec requires it, and a relative path would be looked up in the runtime's PATH.
    if !path.is_absolute() {
        return Err(HookError::RelativePath { path });
    }
    let timeout = match hook.timeout() {
        Some(t) if t <= 0 => return Err(HookError::InvalidTimeout { path, timeout: t }),
        other => other,
    };
    let mut child = command(hook)?.spawn().map_err(|source| HookError::Spawn {
        path: path.clone(),
        source,
    })?;

    // Feed stdin and drain stderr on their own threads so that neither pipe can block the
    // hook (or us) whatever it reads or writes.
    // Neither thread is joined: whatever the hook left behind may hold the pipes open.
    if let Some(mut pipe) = child.stdin.take() {
        let state = state_json.to_vec();
        thread::spawn(move || {
            // A hook may exit without reading its stdin: EPIPE is not an error.
            let _ = pipe.write_all(&state);
        });
    }
    let (stderr_tx, stderr_rx) = mpsc::channel();
    if let Some(pipe) = child.stderr.take() {
        thread::spawn(move || stderr_tx.send(read_capped(pipe)));
    }

    let status = match timeout {
        Some(secs) => wait_with_timeout(&mut child, secs, &path),
        None => child.wait().map_err(|source| HookError::Wait {
            path: path.clone(),
            source,
        }),
    };
    // Something the hook left running may hold its stderr open: do not wait for it forever.
    let stderr = stderr_rx.recv_timeout(STDERR_GRACE).unwrap_or_default();
    let status = status?;
    if status.success() {
        Ok(())
    } else {
        Err(HookError::Failed {
            path,
            status,
            stderr,
        })
    }
}

/// Reads everything (so the writer never blocks) but keeps only the first `STDERR_CAP` bytes.
fn read_capped(mut pipe: impl Read) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    let mut truncated = false;
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = STDERR_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let mut text = String::from_utf8_lossy(&kept).trim_end().to_string();
    if truncated {
        text.push_str(" [truncated]");
    }
    text
}

/// Waits on the child's pidfd; kills it when `secs` have passed.
fn wait_with_timeout(child: &mut Child, secs: i64, path: &Path) -> Result<ExitStatus, HookError> {
    let wait_err = |source: io::Error| HookError::Wait {
        path: path.to_path_buf(),
        source,
    };
    let pid = Pid::from_raw(child.id() as i32)
        .ok_or_else(|| wait_err(io::Error::from_raw_os_error(libc::ESRCH)))?;
    // The child is not reaped until `wait` below, so its pid cannot be reused meanwhile.
    let pidfd =
        rustix::process::pidfd_open(pid, PidfdFlags::empty()).map_err(|e| wait_err(e.into()))?;
    let deadline = Instant::now() + Duration::from_secs(secs.unsigned_abs());
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            // The group id is the hook's pid (process_group(0)); then the hook itself.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::TimedOut {
                path: path.to_path_buf(),
                timeout_secs: secs,
            });
        }
        let timespec = Timespec {
            tv_sec: remaining.as_secs() as i64,
            tv_nsec: i64::from(remaining.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timespec)) {
            Ok(0) => continue,
            Ok(_) => return child.wait().map_err(wait_err),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(wait_err(e.into())),
        }
    }
}
