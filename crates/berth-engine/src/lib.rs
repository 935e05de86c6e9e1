//! berth-engine: what berthd does, without HTTP. Containers (records, lifecycle through one
//! `berth-shim` each), images (over `berth-store` and the registry client), events, and the
//! on-disk state that lets the daemon restart without losing anything.
//!
//! Everything here is synchronous; the API layer calls it from blocking tasks.

pub mod build;
pub mod containers;
pub mod error;
pub mod events;
pub mod images;
pub mod io;
pub mod paths;
pub mod spec;

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
}

/// The daemon's state: one per data root.
pub struct Engine {
    pub paths: Paths,
    pub store: Arc<Store>,
    pub containers: containers::Containers,
    pub events: events::EventBus,
    /// The `berth-shim` binary started for each container run.
    pub shim: std::path::PathBuf,
    /// Watches the shims of running containers for their exit.
    pub monitor: containers::Monitor,
    /// `docker exec` instances.
    pub execs: io::exec::ExecTable,
}

impl Engine {
    /// Opens (creating) the engine's directories and store.
    pub fn open(paths: Paths) -> Result<Engine, OpenError> {
        for dir in paths.dirs() {
            std::fs::create_dir_all(&dir).map_err(|source| OpenError::Dir { path: dir, source })?;
        }
        let store = Arc::new(Store::open(&paths.store())?);
        let containers = containers::Containers::load(&paths.containers());
        Ok(Engine {
            paths,
            store,
            containers,
            events: events::EventBus::default(),
            shim: shim_binary(),
            monitor: containers::Monitor::default(),
            execs: io::exec::ExecTable::default(),
        })
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
