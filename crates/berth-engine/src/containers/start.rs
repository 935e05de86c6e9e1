//! `POST /containers/{id}/start`: one detached `berth-shim` per run. The shim's starter process
//! is our child only until the container runs; it prints `{"pid":N,"shim_pid":M}` (or the
//! error and Docker's exit code) and exits. The shim itself is then watched by the monitor.

use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, MutexGuard};

use berth_shim::client::ShimConfig;

use super::record::Status;
use super::{Container, ContainerError, ContainerRecord};
use crate::Engine;
use crate::events::Event;

/// What the shim's starter reported.
#[derive(Debug)]
enum Report {
    Running { pid: i32, shim_pid: i32 },
    Failed { message: String, exit_code: i32 },
}

fn parse_report(stdout: &[u8], stderr: &[u8]) -> Report {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let int = |key: &str| value[key].as_i64().and_then(|n| i32::try_from(n).ok());
    if let (Some(pid), Some(shim_pid)) = (int("pid"), int("shim_pid")) {
        return Report::Running { pid, shim_pid };
    }
    let message = match value["error"].as_str() {
        Some(m) => m.to_string(),
        None => {
            let err = String::from_utf8_lossy(stderr);
            format!("the shim reported nothing: {}", err.trim())
        }
    };
    Report::Failed {
        message,
        exit_code: int("exit_code").unwrap_or(1),
    }
}

/// `--log-opt max-size=10m` → bytes (Docker's units: k, m, g; powers of 1024).
fn parse_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.trim_end_matches('b');
    let (digits, unit) = match lower.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => lower.split_at(i),
        None => (lower, ""),
    };
    let n: u64 = digits.trim().parse().ok()?;
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A restart by policy that could not start: the container is `exited` now, and whoever
/// waited for it to stop returns.
fn settle_failed_restart(
    container: &Container,
    mut record: MutexGuard<'_, ContainerRecord>,
    restarting: bool,
) {
    if !restarting {
        return;
    }
    record.state.status = Status::Exited;
    if let Err(e) = record.save(&container.dir) {
        tracing::error!(container = %container.id, error = %e, "saving a failed restart");
    }
    drop(record);
    container.notify(super::wait::Happened::Exited);
}

impl Engine {
    /// Network namespace, interfaces, ports, DNS — before the container's process exists.
    fn attach_network(
        &self,
        dir: &std::path::Path,
        record: &ContainerRecord,
    ) -> Result<(), ContainerError> {
        let hostname = record.config.hostname.clone().unwrap_or_default();
        let attachment = self.network.attach(&crate::network::AttachRequest {
            id: &record.id,
            name: &record.name,
            hostname: &hostname,
            config: &record.config,
            host: &record.host_config,
            endpoints: record.networking_config.as_ref(),
            joined_netns: None,
        })?;
        if attachment.netns_path.is_some()
            && let Err(e) =
                super::etc_files::write_network(dir, &attachment.hosts, &attachment.resolv_conf)
        {
            self.detach_network(&record.id);
            return Err(e);
        }
        // Docker's `network connect` event for each network the start joined.
        for network in self.network.networks_of(&record.id) {
            self.events
                .publish(crate::network::event("connect", &network, Some(&record.id)));
        }
        Ok(())
    }

    /// Best effort and complete (the service logs what it could not undo); a `network
    /// disconnect` event for each network left (none when there was nothing to detach).
    pub(crate) fn detach_network(&self, id: &str) {
        let joined = self.network.networks_of(id);
        match self.network.detach(id) {
            Ok(()) => {
                for network in &joined {
                    self.events
                        .publish(crate::network::event("disconnect", network, Some(id)));
                }
            }
            Err(e) => tracing::warn!(container = %id, error = %e, "network teardown"),
        }
    }

    /// `POST /containers/{id}/start`: a start by the user (restart count and back-off start
    /// over).
    pub fn start_container(self: &Arc<Self>, name: &str) -> Result<(), ContainerError> {
        let container = self.containers.get(name)?;
        let mut record = container.lock();
        match record.state.status {
            Status::Running | Status::Restarting => {
                return Err(ContainerError::AlreadyRunning {
                    id: container.id.clone(),
                });
            }
            Status::Paused => {
                return Err(ContainerError::Paused {
                    id: container.id.clone(),
                });
            }
            _ => {}
        }
        if container.is_removing() {
            return Err(ContainerError::RemovalInProgress {
                id: container.id.clone(),
            });
        }
        self.reset_restarts(&mut record);
        self.run_container(&container, record)
    }

    /// The end of a start that failed, before the process existed (network, shim) or at its
    /// exec: the error (and the exit code, if there was a process) is on record, attachers
    /// hear of it, and `docker run --rm` — which waits for the removal — gets one.
    fn fail_start(
        self: &Arc<Self>,
        container: &Container,
        mut record: MutexGuard<'_, ContainerRecord>,
        restarting: bool,
        attachers: Vec<super::AttachCallback>,
        message: String,
        exit_code: Option<i32>,
    ) {
        record.state.error = message.clone();
        if let Some(code) = exit_code {
            record.state.exit_code = code;
        }
        let exit_code = record.state.exit_code;
        let _ = record.save(&container.dir);
        let auto_remove = record.host_config.auto_remove.unwrap_or(false);
        settle_failed_restart(container, record, restarting);
        for attacher in attachers {
            attacher(Err(ContainerError::StartFailed {
                message: message.clone(),
                exit_code,
            }));
        }
        if auto_remove && let Err(e) = self.remove_container(&container.id, true, true) {
            tracing::warn!(container = %container.id, error = %e, "auto-remove");
        }
    }

    /// Starts a run of `container` (its record locked by the caller, checked startable):
    /// network, shim, then the record says `running`. A failed start leaves it `exited`
    /// when it was waiting to restart.
    pub(super) fn run_container(
        self: &Arc<Self>,
        container: &Container,
        mut record: MutexGuard<'_, ContainerRecord>,
    ) -> Result<(), ContainerError> {
        let restarting = record.state.status == Status::Restarting;
        let attachers = container.take_attachers();
        let launched = self.attach_network(&container.dir, &record).and_then(|()| {
            self.spawn_shim(&record, !attachers.is_empty())
                .inspect_err(|_| self.detach_network(&container.id))
        });
        let report = match launched {
            Ok(report) => report,
            Err(e) => {
                self.fail_start(
                    container,
                    record,
                    restarting,
                    attachers,
                    e.to_string(),
                    None,
                );
                return Err(e);
            }
        };
        if matches!(report, Report::Failed { .. }) {
            self.detach_network(&container.id);
        }
        match report {
            Report::Failed { message, exit_code } => {
                let error = message.clone();
                self.fail_start(
                    container,
                    record,
                    restarting,
                    attachers,
                    error,
                    Some(exit_code),
                );
                Err(ContainerError::StartFailed { message, exit_code })
            }
            Report::Running { pid, shim_pid } => {
                crate::fault::point("start:after-shim");
                let state = &mut record.state;
                state.status = Status::Running;
                state.pid = pid;
                state.shim_pid = shim_pid;
                state.exit_code = 0;
                state.error.clear();
                state.oom_killed = false;
                state.started_at = berth_oci::time::rfc3339_nano(std::time::SystemTime::now());
                let saved = record.save(&container.dir);
                let attrs = super::event_attrs(&record);
                let healthcheck = record.config.healthcheck.clone();
                let shell = record.config.shell.clone();
                drop(record);
                self.watch_shim(container, shim_pid);
                self.connect_attachers(container, attachers);
                self.events
                    .publish(Event::new("container", "start", &container.id, attrs));
                self.health.start(
                    self,
                    &container.id,
                    healthcheck.as_ref(),
                    shell.as_deref(),
                    false,
                );
                saved.map_err(Into::into)
            }
        }
    }

    /// Runs the shim's starter and returns its report.
    fn spawn_shim(
        &self,
        record: &ContainerRecord,
        wait_attach: bool,
    ) -> Result<Report, ContainerError> {
        let id = &record.id;
        let state_dir = self.paths.shim_state(id);
        // A previous run's sockets and exit.json must not be mistaken for this run's.
        let _ = std::fs::remove_dir_all(&state_dir);
        std::fs::create_dir_all(&state_dir).map_err(|source| ContainerError::Io {
            what: "creating",
            path: state_dir.clone(),
            source,
        })?;
        let log_opts = record
            .host_config
            .log_config
            .as_ref()
            .and_then(|l| l.config.clone())
            .unwrap_or_default();
        let config = ShimConfig {
            id: id.clone(),
            bundle: self.paths.bundle(id),
            runtime_root: self.paths.runtime_root(),
            state_dir,
            log_path: Some(self.paths.log(id)),
            log_max_size: log_opts
                .get("max-size")
                .and_then(|s| parse_size(s))
                .unwrap_or(0),
            log_max_files: log_opts
                .get("max-file")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1),
            stdin: record.config.open_stdin.unwrap_or(false),
            tty: record.config.tty.unwrap_or(false),
            wait_attach,
            // As Docker (`CloseStdin && !TTY`): a terminal's stdin is not closed when an
            // attacher leaves, so Ctrl-P Ctrl-Q detaches and `docker attach` finds the shell.
            stdin_once: record.config.stdin_once.unwrap_or(false)
                && !record.config.tty.unwrap_or(false),
        };
        let began = std::time::Instant::now();
        let output = Command::new(self.shim.exec_path())
            .arg0("berth-shim")
            .args(config.argv())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| ContainerError::ShimSpawn {
                path: self.shim.source().to_path_buf(),
                source,
            })?;
        tracing::debug!(container = %id, elapsed = ?began.elapsed(), "shim reported");
        Ok(parse_report(&output.stdout, &output.stderr))
    }

    /// Hands each pending attacher its connection to the shim's attach socket (the shim waits
    /// for the first before running the container's process, so no output is missed).
    pub(super) fn connect_attachers(
        &self,
        container: &Container,
        attachers: Vec<super::AttachCallback>,
    ) {
        let socket = berth_shim::paths::in_state_dir(
            &self.paths.shim_state(&container.id),
            berth_shim::paths::ATTACH_SOCKET,
        );
        for attacher in attachers {
            let stream = UnixStream::connect(&socket).map_err(|source| ContainerError::Io {
                what: "connecting to",
                path: socket.clone(),
                source,
            });
            attacher(stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_starters_report() {
        assert!(matches!(
            parse_report(b"{\"pid\":12,\"shim_pid\":11}\n", b""),
            Report::Running {
                pid: 12,
                shim_pid: 11
            }
        ));
        match parse_report(b"{\"error\":\"exec: nope\",\"exit_code\":127}\n", b"") {
            Report::Failed { message, exit_code } => {
                assert_eq!((message.as_str(), exit_code), ("exec: nope", 127))
            }
            other => panic!("{other:?}"),
        }
        match parse_report(b"", b"berth-shim: boom\n") {
            Report::Failed { message, exit_code } => {
                assert!(message.contains("boom"));
                assert_eq!(exit_code, 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_log_sizes() {
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("1x"), None);
    }
}
