//! Which daemon to talk to, and starting `berthd` when the default one is not running.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use berth_client::{Client, Host};

pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";
const DAEMON_LOG: &str = "/run/berth/berthd.log";
const STARTUP_WAIT: Duration = Duration::from_secs(5);

/// `-H`, then `BERTH_HOST`, then `DOCKER_HOST`; `None` means the default socket.
pub fn chosen_host(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| non_empty_env("BERTH_HOST"))
        .or_else(|| non_empty_env("DOCKER_HOST"))
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A client for the chosen host, negotiated; for the default host, starts `berthd` first when
/// nothing answers there.
pub fn connect(flag: Option<&str>) -> anyhow::Result<Client> {
    match chosen_host(flag) {
        Some(host) => Ok(Client::negotiate(Host::parse(&host)?)?),
        None => {
            let host = Host::parse(DEFAULT_HOST)?;
            match Client::negotiate(host.clone()) {
                Ok(client) => Ok(client),
                Err(berth_client::Error::Connect { .. }) => {
                    let berthd = berthd_path().context("`berthd` not found beside `berth`")?;
                    // The daemon outlives us; we never wait for it (init reaps it).
                    spawn_daemon(&berthd, &[], Path::new(DAEMON_LOG))?;
                    wait_for(&host, STARTUP_WAIT)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Starts `berthd args...` in a session of its own, stdin closed, output appended to `log_path`.
pub fn spawn_daemon(
    berthd: &Path,
    args: &[&OsStr],
    log_path: &Path,
) -> anyhow::Result<std::process::Child> {
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut command = Command::new(berthd);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicating the log fd")?)
        .stderr(log)
        .env_remove("BERTH_HOST");
    crate::sys::detach_into_new_session(&mut command);
    command
        .spawn()
        .with_context(|| format!("starting {}", berthd.display()))
}

fn berthd_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join("berthd");
    path.is_file().then_some(path)
}

/// Pings `host` until it answers or `timeout` passes.
pub fn wait_for(host: &Host, timeout: Duration) -> anyhow::Result<Client> {
    let deadline = Instant::now() + timeout;
    loop {
        match Client::negotiate(host.clone()) {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() >= deadline => {
                bail!("berthd did not answer on {host} within {timeout:?} (see {DAEMON_LOG}): {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_precedence() {
        // Only the flag is checked here: the environment is shared by parallel tests.
        assert_eq!(chosen_host(Some("unix:///a")).as_deref(), Some("unix:///a"));
    }

    /// The autostart path for real: the `berthd` built beside us starts detached on a private
    /// socket and answers /_ping within the startup wait.
    #[test]
    fn autostarted_berthd_answers() {
        let exe = std::env::current_exe().unwrap();
        // Unit tests run from target/<profile>/deps; the binaries live one level up.
        let berthd = exe.parent().and_then(Path::parent).unwrap().join("berthd");
        assert!(
            berthd.is_file(),
            "{} must be built first (cargo build -p berthd)",
            berthd.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-cli-autostart-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("berthd.sock");
        let host = format!("unix://{}", socket.display());
        let (data, run) = (dir.path().join("data"), dir.path().join("run"));
        let args: Vec<&OsStr> = vec![
            OsStr::new("-H"),
            OsStr::new(&host),
            OsStr::new("--data-root"),
            data.as_os_str(),
            OsStr::new("--exec-root"),
            run.as_os_str(),
        ];
        let log = dir.path().join("berthd.log");
        let mut child = spawn_daemon(&berthd, &args, &log).unwrap();
        struct Reap<'a>(&'a mut std::process::Child);
        impl Drop for Reap<'_> {
            fn drop(&mut self) {
                let pid = rustix::process::Pid::from_child(self.0);
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                let _ = self.0.wait();
            }
        }
        let reap = Reap(&mut child);
        let started = Instant::now();
        let client = wait_for(&Host::parse(&host).unwrap(), STARTUP_WAIT).unwrap_or_else(|e| {
            panic!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
        });
        assert!(started.elapsed() < STARTUP_WAIT);
        assert_eq!(client.api_version(), "1.41");
        // It runs in a session of its own, so closing our terminal does not stop it.
        let pid = rustix::process::Pid::from_child(reap.0);
        assert_eq!(rustix::process::getsid(Some(pid)).unwrap(), pid);
        drop(reap);
    }
}
