//! The networks this daemon knows (`networks.json` under the data root): what `docker network
//! ls/inspect` shows. Kernel state (bridges, rules, addresses) is `berth_net`'s business.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_net::Subnet;
use serde::{Deserialize, Serialize};

use super::NetError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Bridge,
    Host,
    Null,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Host => "host",
            Driver::Null => "null",
        }
    }
}

/// Addressing of a bridge network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeConfig {
    /// The host's bridge device.
    pub device: String,
    pub subnet: Subnet,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Subnet>,
    pub internal: bool,
    /// `--ipv6`: the IPv6 subnet and gateway (dual stack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<berth_net::firewall::Ipv6Net>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub driver: Driver,
    /// RFC 3339, as Docker shows it.
    pub created: String,
    /// `None` for `host` and `none`.
    pub bridge: Option<BridgeConfig>,
    #[serde(default)]
    pub labels: HashMap<String, String>,
    #[serde(default)]
    pub options: HashMap<String, String>,
    /// Docker's `bridge`, `host` and `none`: never removed.
    pub predefined: bool,
}

impl NetworkRecord {
    /// User-defined bridge networks get the embedded DNS and names of containers.
    pub fn is_user_bridge(&self) -> bool {
        self.driver == Driver::Bridge && !self.predefined
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    networks: BTreeMap<String, NetworkRecord>,
}

#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    file: File,
}

impl Registry {
    pub fn open(path: &Path) -> Result<Registry, NetError> {
        let file = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| NetError::Corrupt {
                path: path.to_path_buf(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(source) => {
                return Err(NetError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(Registry {
            path: path.to_path_buf(),
            file,
        })
    }

    fn save(&self) -> Result<(), NetError> {
        let bytes = serde_json::to_vec_pretty(&self.file).map_err(|source| NetError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        berth_fsutil::write_atomic(&self.path, &bytes, 0o600).map_err(|source| NetError::Write {
            path: self.path.clone(),
            source,
        })
    }

    pub fn all(&self) -> impl Iterator<Item = &NetworkRecord> {
        self.file.networks.values()
    }

    pub fn by_id(&self, id: &str) -> Option<&NetworkRecord> {
        self.file.networks.get(id)
    }

    /// Docker's lookup order: full ID, exact name, then a unique ID prefix.
    pub fn find(&self, name_or_id: &str) -> Result<&NetworkRecord, NetError> {
        if let Some(record) = self.file.networks.get(name_or_id) {
            return Ok(record);
        }
        if let Some(record) = self.all().find(|r| r.name == name_or_id) {
            return Ok(record);
        }
        let matches: Vec<&NetworkRecord> = self
            .all()
            .filter(|r| !name_or_id.is_empty() && r.id.starts_with(name_or_id))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(NetError::NotFound(name_or_id.to_string())),
            many => Err(NetError::Ambiguous {
                name: name_or_id.to_string(),
                count: many.len(),
            }),
        }
    }

    pub fn insert(&mut self, record: NetworkRecord) -> Result<(), NetError> {
        self.file.networks.insert(record.id.clone(), record);
        self.save()
    }

    pub fn remove(&mut self, id: &str) -> Result<(), NetError> {
        self.file.networks.remove(id);
        self.save()
    }
}
