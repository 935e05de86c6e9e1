//! The network of a RUN step. `--network=none` gets a fresh namespace with only loopback,
//! `host` the host's; the default goes to the build's network mode: a bridge network
//! provided by the caller through [`RunNetwork`] (berthd gives its default `bridge`), or the
//! host's when the library runs without a daemon. Every step also gets its own `/etc/hosts`
//! and `/etc/resolv.conf`, bind-mounted (never written into the layer), as BuildKit does.

use std::path::{Path, PathBuf};

use crate::instructions::Network;

/// The hostname of every RUN step (BuildKit's).
pub const SANDBOX_HOSTNAME: &str = "buildkitsandbox";

/// An error from a [`RunNetwork`] implementation (its own error type, boxed).
pub type RunNetworkError = Box<dyn std::error::Error + Send + Sync>;

/// What a step's network looks like once set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNetworkSetup {
    /// The namespace to join; `None`: the host's.
    pub netns: Option<PathBuf>,
    /// Contents of the step's `/etc/hosts`.
    pub hosts: String,
    /// Contents of the step's `/etc/resolv.conf`.
    pub resolv_conf: String,
}

/// Gives RUN steps a network the builder cannot make itself (a bridge with NAT and DNS).
/// berthd implements it over its network service; `attach` and `detach` are called once
/// each per step, `detach` also when the step failed.
pub trait RunNetwork: Send + Sync {
    /// Attaches step `step_id` (64 hex digits, unique) to `network` (a network name or ID
    /// such as `bridge`).
    fn attach(&self, step_id: &str, network: &str) -> Result<RunNetworkSetup, RunNetworkError>;
    /// Undoes `attach`; best effort and complete.
    fn detach(&self, step_id: &str) -> Result<(), RunNetworkError>;
}

/// The network a step runs with, after the RUN's `--network` and the build's mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepNetwork {
    Host,
    /// A new namespace with only `lo`.
    Isolated,
    /// A network of the provider (`bridge`, or a user-defined network's name).
    Provided(String),
}

/// `RUN --network` wins; otherwise the build's mode (`docker build --network`: `default`,
/// `bridge`, `host`, `none` or a network name). Without a provider the default is the host's
/// network (the library alone cannot make a bridge).
pub fn step_network(run: Option<Network>, build_mode: &str, has_provider: bool) -> StepNetwork {
    match run {
        Some(Network::None) => return StepNetwork::Isolated,
        Some(Network::Host) => return StepNetwork::Host,
        Some(Network::Default) | None => {}
    }
    match build_mode {
        "host" => StepNetwork::Host,
        "none" => StepNetwork::Isolated,
        "" | "default" if has_provider => StepNetwork::Provided("bridge".to_string()),
        "" | "default" => StepNetwork::Host,
        name => StepNetwork::Provided(name.to_string()),
    }
}

/// Loopback-only `/etc/hosts`, as BuildKit writes it for its sandbox.
pub fn local_hosts() -> String {
    format!("127.0.0.1\tlocalhost {SANDBOX_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
}

/// The host's `/etc/resolv.conf`, or an empty one if it has none.
pub fn host_resolv_conf() -> String {
    std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
}

/// The host's `/etc/hosts` plus the sandbox's name (for `--network=host`).
pub fn host_hosts() -> String {
    let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    if !hosts.is_empty() && !hosts.ends_with('\n') {
        hosts.push('\n');
    }
    hosts.push_str(&format!("127.0.0.1\t{SANDBOX_HOSTNAME}\n"));
    hosts
}

/// A fresh step ID: 64 hex digits (the provider keys its state, and names veths, by it).
pub fn new_step_id() -> String {
    use sha2::Digest as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!(
        "{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sha2::Sha256::digest(seed.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A step attached to a provider's network; detaches when dropped.
pub struct Attached<'n> {
    provider: &'n dyn RunNetwork,
    step_id: String,
    pub setup: RunNetworkSetup,
}

impl<'n> Attached<'n> {
    pub fn attach(provider: &'n dyn RunNetwork, network: &str) -> Result<Self, RunNetworkError> {
        let step_id = new_step_id();
        let setup = provider.attach(&step_id, network)?;
        Ok(Attached {
            provider,
            step_id,
            setup,
        })
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        if let Err(error) = self.provider.detach(&self.step_id) {
            tracing::warn!(step = %self.step_id, %error, "detaching a RUN step from its network");
        }
    }
}

/// Writes the step's `hosts` and `resolv.conf` into `dir` and returns their paths.
pub fn write_etc_files(
    dir: &Path,
    hosts: &str,
    resolv_conf: &str,
) -> std::io::Result<(PathBuf, PathBuf)> {
    let hosts_path = dir.join("hosts");
    let resolv_path = dir.join("resolv.conf");
    std::fs::write(&hosts_path, hosts)?;
    std::fs::write(&resolv_path, resolv_conf)?;
    Ok((hosts_path, resolv_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_flag_wins_over_build_mode() {
        assert_eq!(
            step_network(Some(Network::None), "bridge", true),
            StepNetwork::Isolated
        );
        assert_eq!(
            step_network(Some(Network::Host), "none", true),
            StepNetwork::Host
        );
        assert_eq!(
            step_network(Some(Network::Default), "none", true),
            StepNetwork::Isolated
        );
    }

    #[test]
    fn default_mode_depends_on_a_provider() {
        assert_eq!(
            step_network(None, "default", true),
            StepNetwork::Provided("bridge".into())
        );
        assert_eq!(step_network(None, "", false), StepNetwork::Host);
        assert_eq!(
            step_network(None, "mynet", true),
            StepNetwork::Provided("mynet".into())
        );
        assert_eq!(step_network(None, "host", true), StepNetwork::Host);
    }

    #[test]
    fn step_ids_are_unique_hex() {
        let (a, b) = (new_step_id(), new_step_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
