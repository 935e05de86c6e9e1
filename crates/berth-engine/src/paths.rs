//! Where the daemon keeps things: persistent state under the data root (`/var/lib/berth`),
//! runtime state (sockets, shim state, runtime root) under the exec root (`/run/berth`).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
}

impl Paths {
    pub fn new(data_root: impl Into<PathBuf>, exec_root: impl Into<PathBuf>) -> Paths {
        Paths {
            data_root: data_root.into(),
            exec_root: exec_root.into(),
        }
    }

    /// Content store, snapshots and image records.
    pub fn store(&self) -> PathBuf {
        self.data_root.join("store")
    }

    /// One directory per container: its record, bundle, log and /etc files.
    pub fn containers(&self) -> PathBuf {
        self.data_root.join("containers")
    }

    pub fn container(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    /// The OCI bundle (config.json) of a container; its rootfs is `bundle/rootfs`.
    pub fn bundle(&self, id: &str) -> PathBuf {
        self.container(id).join("bundle")
    }

    pub fn rootfs(&self, id: &str) -> PathBuf {
        self.bundle(id).join("rootfs")
    }

    /// The json-file log, named as Docker names it.
    pub fn log(&self, id: &str) -> PathBuf {
        self.container(id).join(format!("{id}-json.log"))
    }

    /// The runtime library's state root (what `berth-runc --root` would be).
    pub fn runtime_root(&self) -> PathBuf {
        self.exec_root.join("runtime")
    }

    /// Per-container shim state: control/attach sockets, ready and exit files. Named by the
    /// short ID: a unix socket path must fit in 108 bytes, and the full ID would leave little
    /// room for the exec root (48 random bits make a clash of short IDs negligible).
    pub fn shim_state(&self, id: &str) -> PathBuf {
        self.exec_root.join("shims").join(&id[..id.len().min(12)])
    }

    pub fn dirs(&self) -> Vec<PathBuf> {
        vec![
            self.data_root.clone(),
            self.exec_root.clone(),
            self.store(),
            self.containers(),
            self.runtime_root(),
            self.exec_root.join("shims"),
        ]
    }

    pub fn data_root(&self) -> &Path {
        &self.data_root
    }
}
