//! Containers: the in-memory table of records (loaded from disk at startup), name and ID-prefix
//! lookup. The lifecycle operations live in their own files.

mod attach;
mod create;
mod error;
mod etc_files;
mod exit;
mod inspect;
mod list;
mod monitor;
pub mod names;
pub mod prune;
pub mod record;
mod remove;
mod repair;
mod restart;
mod restore;
mod signal;
mod start;
mod status_text;
mod stop;
mod sync_later;
mod update;
mod wait;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

pub use attach::AttachCallback;
pub use create::{CreateRequest, Created};
pub use error::ContainerError;
pub use list::ListOptions;
pub use monitor::Monitor;
pub use record::{ContainerRecord, RecordError, State, Status};
pub use restart::{Policy as RestartPolicy, Restarts};
pub use status_text::status_text;
pub use update::UpdateError;
pub use wait::{WaitCallback, WaitCondition, WaitOutcome};

use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("multiple containers found with provided prefix: {0}")]
    Ambiguous(String),
}

impl HasKind for LookupError {
    fn kind(&self) -> ErrorKind {
        match self {
            LookupError::NotFound(_) => ErrorKind::NotFound,
            LookupError::Ambiguous(_) => ErrorKind::InvalidArgument,
        }
    }
}

/// One container; its record is locked while an operation changes it. Lock order: `record`
/// before `live`.
#[derive(Debug)]
pub struct Container {
    pub id: String,
    pub dir: PathBuf,
    pub record: Mutex<ContainerRecord>,
    /// What only lives as long as the daemon: waiters and pending attachers.
    live: Mutex<wait::Live>,
}

impl Container {
    pub fn new(dir: PathBuf, record: ContainerRecord) -> Container {
        Container {
            id: record.id.clone(),
            dir,
            record: Mutex::new(record),
            live: Mutex::default(),
        }
    }

    /// The record, locked (a poisoned lock still holds a consistent record: every change is
    /// saved whole).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, ContainerRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self) -> std::sync::MutexGuard<'_, wait::Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of the record (cheap enough: configs are small).
    pub fn snapshot(&self) -> ContainerRecord {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// All containers by ID.
#[derive(Debug, Default)]
pub struct Containers {
    by_id: RwLock<HashMap<String, Arc<Container>>>,
}

impl Containers {
    /// Loads every `<dir>/<id>/config.v2.json`; unreadable ones are logged and skipped
    /// (never deleted: a human may want them).
    pub fn load(dir: &std::path::Path) -> Containers {
        let mut map = HashMap::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            match ContainerRecord::load(&path) {
                Ok(record) => {
                    map.insert(record.id.clone(), Arc::new(Container::new(path, record)));
                }
                Err(e) => tracing::warn!(error = %e, "skipping container"),
            }
        }
        Containers {
            by_id: RwLock::new(map),
        }
    }

    pub fn insert(&self, container: Arc<Container>) {
        self.write().insert(container.id.clone(), container);
    }

    /// Inserts `container` unless another one holds its name; returns that one's ID then.
    /// (Check and insert under one lock: two creates cannot both take a name.)
    pub fn insert_unique(&self, container: Arc<Container>) -> Result<(), String> {
        let name = container.snapshot().name;
        let mut map = self.write();
        if let Some(holder) = map.values().find(|c| c.snapshot().name == name) {
            return Err(holder.id.clone());
        }
        map.insert(container.id.clone(), container);
        Ok(())
    }

    /// Renames container `id` unless another holds `name`; returns the old name, or the
    /// holder's ID.
    pub fn rename(&self, id: &str, name: &str) -> Result<String, String> {
        let map = self.write();
        if let Some(holder) = map
            .values()
            .find(|c| c.id != id && c.snapshot().name == name)
        {
            return Err(holder.id.clone());
        }
        let container = map.get(id).ok_or_else(String::new)?;
        let mut record = container.lock();
        Ok(std::mem::replace(&mut record.name, name.to_string()))
    }

    pub fn remove(&self, id: &str) -> Option<Arc<Container>> {
        self.write().remove(id)
    }

    pub fn all(&self) -> Vec<Arc<Container>> {
        self.read().values().cloned().collect()
    }

    /// By full ID, exact name (with or without Docker's leading `/`), or unique ID prefix — in
    /// that order, as Docker resolves them.
    pub fn get(&self, name_or_id: &str) -> Result<Arc<Container>, LookupError> {
        let map = self.read();
        if let Some(c) = map.get(name_or_id) {
            return Ok(c.clone());
        }
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(c) = map.values().find(|c| c.snapshot().name == name) {
            return Ok(c.clone());
        }
        if !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut hits = map.values().filter(|c| c.id.starts_with(name_or_id));
            if let Some(first) = hits.next() {
                if hits.next().is_some() {
                    return Err(LookupError::Ambiguous(name_or_id.to_string()));
                }
                return Ok(first.clone());
            }
        }
        Err(LookupError::NotFound(name_or_id.to_string()))
    }

    /// The container that holds `name`, if any.
    pub fn by_name(&self, name: &str) -> Option<Arc<Container>> {
        self.read()
            .values()
            .find(|c| c.snapshot().name == name)
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Container>>> {
        self.by_id.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Container>>> {
        self.by_id.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// The cgroup every container gets (`/berth/<id>` under each controller).
pub fn cgroups_path(id: &str) -> String {
    format!("/berth/{id}")
}

/// Docker's event attributes for a container: its image, name, and labels.
pub fn event_attrs(record: &ContainerRecord) -> std::collections::BTreeMap<String, String> {
    let mut attrs: std::collections::BTreeMap<String, String> = record
        .config
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    attrs.insert("image".into(), record.image_name.clone());
    attrs.insert("name".into(), record.name.clone());
    attrs
}
