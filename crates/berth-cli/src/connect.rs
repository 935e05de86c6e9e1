//! Which daemon to talk to, and starting `berthd` when the default one is not running.

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
                    start_daemon()?;
                    wait_for(&host)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

fn start_daemon() -> anyhow::Result<()> {
    let berthd = berthd_path().context("`berthd` not found beside `berth`")?;
    let log_path = Path::new(DAEMON_LOG);
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {DAEMON_LOG}"))?;
    let mut command = Command::new(&berthd);
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicating the log fd")?)
        .stderr(log)
        .env_remove("BERTH_HOST");
    crate::sys::detach_into_new_session(&mut command);
    // The daemon outlives us; we do not wait for it.
    command
        .spawn()
        .with_context(|| format!("starting {}", berthd.display()))?;
    Ok(())
}

fn berthd_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join("berthd");
    path.is_file().then_some(path)
}

fn wait_for(host: &Host) -> anyhow::Result<Client> {
    let deadline = Instant::now() + STARTUP_WAIT;
    loop {
        match Client::negotiate(host.clone()) {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() >= deadline => {
                bail!("berthd did not answer within 5s (see {DAEMON_LOG}): {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
