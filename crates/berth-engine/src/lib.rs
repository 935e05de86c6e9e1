//! berth-engine: what berthd does, without HTTP. Containers (records, lifecycle through one
//! `berth-shim` each), images (over `berth-store` and the registry client), events, and the
//! on-disk state that lets the daemon restart without losing anything.
//!
//! Everything here is synchronous; the API layer calls it from blocking tasks.

pub mod build;
pub mod containers;
pub mod error;
pub mod events;
pub mod fault;
pub mod health;
pub mod images;
pub mod io;
pub mod network;
pub mod paths;
pub mod sealed_bin;
pub mod spec;
pub mod volumes;

use std::sync::Arc;

use berth_store::Store;

pub use error::{ErrorKind, HasKind};
pub use paths::Paths;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("creating {path}: {source}")]
    Dir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("opening the image store: {0}")]
    Store(#[from] berth_store::StoreError),
    #[error("opening network state: {0}")]
    Network(#[from] network::NetError),
    #[error("opening the volumes: {0}")]
    Volumes(#[from] volumes::VolumeError),
}

/// The daemon's state: one per data root.
pub struct Engine {
    pub paths: Paths,
    pub store: Arc<Store>,
    pub containers: containers::Containers,
    pub events: events::EventBus,
    pub network: network::NetworkService,
    /// The `berth-shim` binary started for each container run.
    pub shim: ShimBinary,
    /// Watches the shims of running containers for their exit.
    pub monitor: containers::Monitor,
    /// `docker exec` instances.
    pub execs: io::exec::ExecTable,
    /// Named and anonymous volumes, and which container mounts which.
    pub volumes: volumes::Volumes,
    /// Restart policies' back-off and pending restarts.
    pub restarts: containers::Restarts,
    /// Health checks of running containers.
    pub health: health::HealthMonitors,
    /// dockerd's `--insecure-registry` entries, given to every registry client.
    pub insecure_registries: Vec<String>,
}

impl Engine {
    /// Opens (creating) the engine's directories and store.
    pub fn open(paths: Paths) -> Result<Engine, OpenError> {
        for dir in paths.dirs() {
            std::fs::create_dir_all(&dir).map_err(|source| OpenError::Dir { path: dir, source })?;
        }
        let store = Arc::new(Store::open(&paths.store())?);
        let containers = containers::Containers::load(&paths.containers());
        let network = network::NetworkService::open(&paths)?;
        let volumes = volumes::Volumes::open(&paths.data_root.join("volumes"))?;
        let ids: std::collections::HashSet<String> =
            containers.all().iter().map(|c| c.id.clone()).collect();
        // A directory without a loadable record keeps its mounts: the restore undoes a create
        // that died half-way (anonymous volumes included) or leaves it for a human.
        volumes.forget_missing(|id| ids.contains(id) || paths.container(id).exists());
        let shim = ShimBinary::find();
        Ok(Engine {
            paths,
            store,
            containers,
            events: events::EventBus::default(),
            network,
            shim,
            monitor: containers::Monitor::default(),
            execs: io::exec::ExecTable::default(),
            volumes,
            restarts: containers::Restarts::default(),
            health: health::HealthMonitors::default(),
            insecure_registries: Vec::new(),
        })
    }
}

impl Engine {
    /// A graceful daemon stop. Containers keep running (live restore); when none is left,
    /// Berth's bridges and nftables table go too, so a stopped daemon leaves the host's
    /// network as it found it (the next start recreates them on first use).
    pub fn shutdown(&self) {
        self.cancel_all_restarts();
        let live = self
            .containers
            .all()
            .iter()
            .any(|c| c.snapshot().state.status.is_live());
        if !live && let Err(e) = self.network.teardown_all() {
            tracing::warn!(error = %e, "network teardown at shutdown");
        }
    }
}

/// How shims are started: through a read-only mount of the binary (no per-start re-exec),
/// or the binary itself (the shim then protects itself) when that mount cannot be made.
#[derive(Debug)]
pub enum ShimBinary {
    Sealed(sealed_bin::SealedBinary),
    Plain(std::path::PathBuf),
}

impl ShimBinary {
    fn find() -> ShimBinary {
        let binary = shim_binary();
        match sealed_bin::SealedBinary::new(&binary) {
            Ok(sealed) => ShimBinary::Sealed(sealed),
            Err(e) => {
                tracing::warn!(error = %e, "starting shims from a writable mount (they re-exec)");
                ShimBinary::Plain(binary)
            }
        }
    }

    /// What to execute, from this process.
    pub fn exec_path(&self) -> &std::path::Path {
        match self {
            ShimBinary::Sealed(s) => s.exec_path(),
            ShimBinary::Plain(p) => p,
        }
    }

    /// The binary on disk, for messages.
    pub fn source(&self) -> &std::path::Path {
        match self {
            ShimBinary::Sealed(s) => s.source(),
            ShimBinary::Plain(p) => p,
        }
    }
}

/// `$BERTH_SHIM`, else `berth-shim` next to the running binary (or one directory up: test
/// binaries live in `target/<profile>/deps`).
pub fn shim_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("BERTH_SHIM") {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("berth-shim"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| std::path::PathBuf::from("berth-shim"))
}
