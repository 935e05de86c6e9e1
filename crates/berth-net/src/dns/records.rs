//! Name → addresses per network, shared between the engine (which edits it as containers come
//! and go) and every running resolver (which reads it per query, so changes apply at once).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

type Table = BTreeMap<String, BTreeMap<String, Vec<IpAddr>>>;

/// Cheap to clone; all clones share the same records.
#[derive(Debug, Clone, Default)]
pub struct DnsRecords {
    inner: Arc<RwLock<Table>>,
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsRecords {
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        // A panic while holding the lock cannot leave the maps half-edited, so keep serving.
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `address` under `name` (a container name or alias) on `network`.
    pub fn add(&self, network: &str, name: &str, address: impl Into<IpAddr>) {
        let address = address.into();
        let mut table = self.write();
        let addresses = table
            .entry(network.to_string())
            .or_default()
            .entry(normalise(name))
            .or_default();
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }

    /// Removes `address` from `name` on `network`; `false` if it was not there.
    pub fn remove(&self, network: &str, name: &str, address: impl Into<IpAddr>) -> bool {
        let address = address.into();
        let mut table = self.write();
        let Some(names) = table.get_mut(network) else {
            return false;
        };
        let name = normalise(name);
        let Some(addresses) = names.get_mut(&name) else {
            return false;
        };
        let before = addresses.len();
        addresses.retain(|a| *a != address);
        let removed = addresses.len() != before;
        if addresses.is_empty() {
            names.remove(&name);
        }
        removed
    }

    /// Removes `address` under every name on `network` (a container leaving); returns how many.
    pub fn remove_address(&self, network: &str, address: impl Into<IpAddr>) -> usize {
        let address = address.into();
        let mut table = self.write();
        let Some(names) = table.get_mut(network) else {
            return 0;
        };
        let mut removed = 0;
        names.retain(|_, addresses| {
            let before = addresses.len();
            addresses.retain(|a| *a != address);
            removed += before - addresses.len();
            !addresses.is_empty()
        });
        removed
    }

    /// Forgets a whole network.
    pub fn remove_network(&self, network: &str) {
        self.write().remove(network);
    }

    /// Addresses of `name` on any of `networks`, without duplicates, in insertion order.
    pub fn lookup(&self, networks: &[String], name: &str) -> Vec<IpAddr> {
        let table = self.read();
        let name = normalise(name);
        let mut out = Vec::new();
        for network in networks {
            if let Some(addresses) = table.get(network).and_then(|names| names.get(&name)) {
                for address in addresses {
                    if !out.contains(address) {
                        out.push(*address);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn scoped_by_network_and_case_insensitive() {
        let records = DnsRecords::new();
        let (a, b) = (Ipv4Addr::new(172, 30, 0, 2), Ipv4Addr::new(172, 30, 0, 3));
        records.add("front", "Web", a);
        records.add("front", "web.", b);
        records.add("front", "web", b);
        records.add("back", "db", a);
        let front = vec!["front".to_string()];
        assert_eq!(
            records.lookup(&front, "WEB"),
            vec![IpAddr::from(a), IpAddr::from(b)]
        );
        let v6: std::net::Ipv6Addr = "fd00:6::2".parse().unwrap();
        records.add("front", "web", v6);
        assert_eq!(records.lookup(&front, "web").len(), 3);
        assert_eq!(records.remove_address("front", v6), 1);
        assert!(records.lookup(&front, "db").is_empty());
        assert!(records.remove("front", "web", a));
        assert!(!records.remove("front", "web", a));
        assert_eq!(records.remove_address("front", b), 1);
        assert!(records.lookup(&front, "web").is_empty());
        records.remove_network("back");
        assert!(records.lookup(&["back".to_string()], "db").is_empty());
    }
}
