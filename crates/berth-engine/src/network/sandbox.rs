//! What one container has on the network side (its "sandbox", in Docker's words), saved under
//! the exec root so that a restarted daemon can restore DNS and tear everything down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use berth_net::firewall::PortMapping;
use berth_net::network::Endpoint;
use serde::{Deserialize, Serialize};

use super::NetError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub network_id: String,
    pub endpoint_id: String,
    /// Inside the container: `eth0`, `eth1`, …
    pub ifname: String,
    /// `--network-alias` values (the DNS names also hold the container name and short ID).
    pub aliases: Vec<String>,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub container: String,
    /// The container's name, without Docker's leading `/`.
    pub name: String,
    /// The namespace the container runs in; `None` for `--network host`.
    pub netns: Option<PathBuf>,
    /// We made `netns` (and remove it on detach); false for `container:<id>` and for
    /// `/proc/<pid>/ns/net` of containers connected after they started.
    pub owns_netns: bool,
    pub endpoints: Vec<EndpointRecord>,
    /// `host` or `none`: the predefined network the container is "on" without an endpoint.
    pub mode_network: Option<String>,
    /// Published ports (the firewall's owner key is the container ID).
    pub ports: Vec<PortMapping>,
    pub exposed: Vec<String>,
    /// Where the embedded resolver forwards names it does not know.
    pub dns_upstreams: Vec<SocketAddr>,
    /// `Config.Hostname`: one of the container's DNS names on user-defined networks.
    #[serde(default)]
    pub hostname: String,
}

impl SandboxRecord {
    pub fn endpoint(&self, network_id: &str) -> Option<&EndpointRecord> {
        self.endpoints.iter().find(|e| e.network_id == network_id)
    }

    /// The next free `ethN`.
    pub fn next_ifname(&self) -> String {
        (0..)
            .map(|n| format!("eth{n}"))
            .find(|name| !self.endpoints.iter().any(|e| &e.ifname == name))
            .unwrap_or_else(|| "eth0".to_string())
    }
}

fn file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

pub fn save(dir: &Path, record: &SandboxRecord) -> Result<(), NetError> {
    let path = file(dir, &record.container);
    let bytes = serde_json::to_vec(record).map_err(|source| NetError::Corrupt {
        path: path.clone(),
        source,
    })?;
    // Under the exec root: it describes running containers only, so no fsync.
    berth_fsutil::write_atomic_volatile(&path, &bytes, 0o600)
        .map_err(|source| NetError::Write { path, source })
}

pub fn delete(dir: &Path, id: &str) -> Result<(), NetError> {
    let path = file(dir, id);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetError::Write { path, source }),
    }
}

/// Every saved sandbox; unreadable files are reported and skipped (teardown of what they
/// described is then up to the operator, as the log says).
pub fn load_all(dir: &Path) -> Vec<SandboxRecord> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(record) => out.push(record),
            Err(error) => tracing::warn!(path = %path.display(), %error, "skipping network state"),
        }
    }
    out
}
