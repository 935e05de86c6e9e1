//! Networks for containers: Docker's `bridge`, `host` and `none`, user-defined bridge networks
//! with embedded DNS, port publishing. The kernel work is `berth_net`'s; this module keeps the
//! daemon's records (which networks exist, which container has which endpoint) and applies
//! Docker's rules (names, modes, defaults, error messages).
//!
//! Kernel state is created lazily where it can be: the default `bridge` network is recorded
//! at open but its bridge device and firewall rules appear on the first container that uses
//! it, so opening an engine (in tests, for `docker images`) does not touch the host's network.

mod attach;
mod crud;
mod error;
mod etc_files;
pub mod hosts_file;
mod inspect_view;
mod joined;
mod legacy_mac;
mod live;
mod pools;
mod ports;
mod registry;
mod reserve;
mod sandbox;
mod settings;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_net::dns::DnsServer;
use berth_net::network::Networks;

pub use attach::{AttachRequest, Attachment};
pub use crud::CreateRequest;
pub use error::NetError;
pub use inspect_view::{ContainerInspect, LegacyNetworkSettings, summary_ports};
pub use legacy_mac::create_body_from_json;
pub use registry::{Driver, NetworkRecord};
pub use settings::network_inspect;

/// A network's inspect body without its containers (what `GET /networks` lists).
pub fn network_inspect_summary(record: &NetworkRecord) -> bollard_stubs::models::NetworkInspect {
    network_inspect(record, HashMap::new())
}

use crate::Paths;
use crate::events::Event;

/// Where Berth's names start on the host; a daemon on the default data root uses the
/// plain ones, others (tests, side-by-side daemons) a suffix derived from their data root.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    /// Berth's nftables table.
    pub table: String,
    /// The default `bridge` network's device.
    pub default_bridge: String,
    /// The host's resolver configuration (upstreams of the embedded DNS).
    pub resolv_conf: PathBuf,
    pub hosts: PathBuf,
}

impl NetworkOptions {
    pub fn for_paths(paths: &Paths) -> NetworkOptions {
        let (table, default_bridge) = if paths.data_root == Path::new("/var/lib/berth") {
            ("berth".to_string(), "berth0".to_string())
        } else {
            // FNV-1a: stable across runs, so a restarted daemon finds its own names again.
            let hash = paths
                .data_root
                .as_os_str()
                .as_encoded_bytes()
                .iter()
                .fold(0x811c_9dc5_u32, |h, b| {
                    (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
                });
            let tag = format!("{:06x}", hash & 0xff_ffff);
            (format!("berth-{tag}"), format!("berth{tag}"))
        };
        NetworkOptions {
            table,
            default_bridge,
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            hosts: PathBuf::from("/etc/hosts"),
        }
    }
}

struct Inner {
    nets: Networks,
    registry: registry::Registry,
    sandboxes: BTreeMap<String, sandbox::SandboxRecord>,
    resolvers: HashMap<String, DnsServer>,
    /// Published host ports held for each running container (see `reserve`).
    reservations: HashMap<String, reserve::Reservation>,
}

/// The daemon's network service. `Send + Sync`; every operation takes one internal lock.
pub struct NetworkService {
    options: NetworkOptions,
    sandbox_dir: PathBuf,
    netns_dir: PathBuf,
    inner: Mutex<Inner>,
}

impl NetworkService {
    /// Where container `id`'s network namespace is kept once attached (the OCI spec joins it).
    pub fn netns_path_for(&self, id: &str) -> PathBuf {
        self.netns_dir.join(id)
    }
}

impl std::fmt::Debug for NetworkService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkService")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn create_dir(path: &Path) -> Result<(), NetError> {
    std::fs::create_dir_all(path).map_err(|source| NetError::Write {
        path: path.to_path_buf(),
        source,
    })
}

impl NetworkService {
    /// Opens the state under `data_root/network` (networks, IPAM, firewall) and
    /// `exec_root/network` (containers' endpoints, namespaces), with names from
    /// [`NetworkOptions::for_paths`].
    pub fn open(paths: &Paths) -> Result<NetworkService, NetError> {
        Self::open_with(paths, NetworkOptions::for_paths(paths))
    }

    pub fn open_with(paths: &Paths, options: NetworkOptions) -> Result<NetworkService, NetError> {
        let state_dir = paths.data_root.join("network");
        let sandbox_dir = paths.exec_root.join("network").join("containers");
        let netns_dir = paths.exec_root.join("netns");
        for dir in [&state_dir, &sandbox_dir, &netns_dir] {
            create_dir(dir)?;
        }
        let mut nets = Networks::open(&state_dir, &options.table)?;
        // Bridges and rules come back after a reboot; nothing is installed for a data root
        // that never had a network in use.
        if !nets.firewall().state().networks.is_empty() {
            nets.restore()?;
        }
        let registry = registry::Registry::open(&state_dir.join("networks.json"))?;
        let sandboxes: BTreeMap<String, sandbox::SandboxRecord> = sandbox::load_all(&sandbox_dir)
            .into_iter()
            .map(|s| (s.container.clone(), s))
            .collect();
        let mut inner = Inner {
            nets,
            registry,
            sandboxes,
            resolvers: HashMap::new(),
            reservations: HashMap::new(),
        };
        crud::ensure_predefined(&mut inner, &options)?;
        for sandbox in inner.sandboxes.values() {
            attach::publish_names(&inner.nets, &inner.registry, sandbox);
        }
        Ok(NetworkService {
            options,
            sandbox_dir,
            netns_dir,
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every mutation saves its state before it changes memory, so a panic elsewhere
        // cannot leave a half-edited record behind: keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn options(&self) -> &NetworkOptions {
        &self.options
    }

    /// Removes everything this service created on the host: every container's endpoints,
    /// every bridge and Berth's nftables table (for uninstall and for tests). Keeps going
    /// past failures and reports them all.
    pub fn teardown_all(&self) -> Result<(), NetError> {
        let ids: Vec<String> = self.lock().sandboxes.keys().cloned().collect();
        let mut failures = Vec::new();
        for id in ids {
            if let Err(e) = self.detach(&id) {
                failures.push(e);
            }
        }
        let mut inner = self.lock();
        let bridges: Vec<(String, String)> = inner
            .registry
            .all()
            .filter_map(|r| Some((r.id.clone(), r.bridge.as_ref()?.device.clone())))
            .collect();
        for (id, _) in &bridges {
            if inner.nets.pool(id).is_some()
                && let Err(e) = inner.nets.remove(id)
            {
                failures.push(e.into());
            }
        }
        if let Err(e) = inner.nets.firewall().teardown_all() {
            failures.push(NetError::Firewall(e));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(NetError::Teardown(failures))
        }
    }
}

/// A `network` event as Docker sends it (actor: the network; `container` on connect and
/// disconnect).
pub fn event(action: &str, network: &NetworkRecord, container: Option<&str>) -> Event {
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_string(), network.name.clone());
    attributes.insert("type".to_string(), network.driver.as_str().to_string());
    if let Some(container) = container {
        attributes.insert("container".to_string(), container.to_string());
    }
    Event::new("network", action, &network.id, attributes)
}
