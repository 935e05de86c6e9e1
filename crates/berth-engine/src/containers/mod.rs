//! Containers: the in-memory table of records (loaded from disk at startup), name and ID-prefix
//! lookup. The lifecycle operations live in their own files.

pub mod names;
pub mod record;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

pub use record::{ContainerRecord, RecordError, State, Status};

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

/// One container; its record is locked while an operation changes it.
#[derive(Debug)]
pub struct Container {
    pub id: String,
    pub dir: PathBuf,
    pub record: Mutex<ContainerRecord>,
}

impl Container {
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
                    let id = record.id.clone();
                    map.insert(
                        id.clone(),
                        Arc::new(Container {
                            id,
                            dir: path,
                            record: Mutex::new(record),
                        }),
                    );
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
