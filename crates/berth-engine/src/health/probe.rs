//! One probe: an exec in the container (`exec_create`/`exec_start`/`exec_die` events, as
//! Docker), its stdout and stderr collected together, killed when it outlives the timeout.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bollard_stubs::models::ExecConfig;

use super::check::{Check, go_duration};
use super::state::{MAX_OUTPUT, ProbeResult, cap_output};
use crate::Engine;
use crate::io::exec;

/// After the probe's exit, how long its output pipes may stay open (a background child
/// holding them) before the result is taken without the rest.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);
/// After the kill of a probe that timed out, how long to wait for its exit.
const KILL_GRACE: Duration = Duration::from_secs(10);

fn now() -> String {
    berth_oci::time::rfc3339_nano(SystemTime::now())
}

/// Runs `check`'s probe in container `id`.
pub fn run(engine: &Arc<Engine>, id: &str, check: &Check) -> ProbeResult {
    let start = now();
    let (exit_code, output) = match exec_probe(engine, id, check) {
        Ok(done) => done,
        Err(e) => (-1, cap_output(e.to_string())),
    };
    ProbeResult {
        start,
        end: now(),
        exit_code,
        output,
    }
}

fn exec_probe(
    engine: &Arc<Engine>,
    id: &str,
    check: &Check,
) -> Result<(i64, String), exec::ExecError> {
    let config = ExecConfig {
        cmd: Some(check.command.clone()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec_id = exec::create(engine, id, config)?;
    let outcome = exec::start(engine, &exec_id, false).map(|started| {
        let output = Arc::new(Mutex::new(Captured::default()));
        let readers: Vec<mpsc::Receiver<()>> = [started.stdout, started.stderr]
            .into_iter()
            .flatten()
            .map(|fd| collect(fd, output.clone()))
            .collect();
        let exec = started.exec.clone();
        let (tx, exited) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("health-wait".into())
            .spawn(move || {
                let _ = tx.send(exec.wait());
            });
        let code = match spawned {
            Ok(_) => exited.recv_timeout(check.timeout).ok(),
            Err(_) => None,
        };
        let text =
            |output: &Mutex<Captured>| output.lock().unwrap_or_else(|p| p.into_inner()).text();
        match code {
            Some(code) => {
                for reader in readers {
                    let _ = reader.recv_timeout(OUTPUT_GRACE);
                }
                (i64::from(code), text(&output))
            }
            None => {
                kill(started.exec.inspect().pid.unwrap_or(0));
                let _ = exited.recv_timeout(KILL_GRACE);
                let out = text(&output);
                let timeout = go_duration(check.timeout);
                let message = if out.is_empty() {
                    format!("Health check exceeded timeout ({timeout})")
                } else {
                    format!("Health check exceeded timeout ({timeout}): {out}")
                };
                (-1, message)
            }
        }
    });
    engine.execs.forget(&exec_id);
    outcome
}

/// A probe's stdout and stderr together: the first [`MAX_OUTPUT`] bytes.
#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Captured {
    fn push(&mut self, data: &[u8]) {
        let room = MAX_OUTPUT.saturating_sub(self.bytes.len());
        self.truncated |= data.len() > room;
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// As Docker shows it: `...` marks a cut.
    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            text.push_str("...");
        }
        text
    }
}

/// Appends what `fd` yields to `output` (the rest drained); the receiver hears when the
/// pipe closed.
fn collect(fd: OwnedFd, output: Arc<Mutex<Captured>>) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let read = move || {
        let mut file = std::fs::File::from(fd);
        let mut buf = [0u8; 4096];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => output
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    };
    if let Err(e) = std::thread::Builder::new()
        .name("health-output".into())
        .spawn(read)
    {
        tracing::warn!(error = %e, "cannot read a health probe's output");
    }
    rx
}

/// SIGKILL to a probe that outlived its timeout (its helper then reports the exit).
fn kill(pid: i64) {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::KILL) {
        tracing::debug!(error = %e, "killing a health probe that timed out");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_marks_the_cut() {
        let mut captured = Captured::default();
        captured.push(b"ok\n");
        assert_eq!(captured.text(), "ok\n");
        captured.push(&[b'x'; MAX_OUTPUT]);
        let text = captured.text();
        assert_eq!(text.len(), MAX_OUTPUT + 3);
        assert!(text.starts_with("ok\nxx") && text.ends_with("x..."));
    }
}
