//! Loading a container's record together with its live status.

use std::path::{Path, PathBuf};

use super::ContainerId;
use super::record::{self, Record, RecordError, Status};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// A container found under the state root.
#[derive(Debug, Clone)]
pub struct Found {
    pub record: Record,
    pub dir: PathBuf,
    pub status: Status,
}

pub fn find(root: &Path, id: &ContainerId) -> Result<Found, LookupError> {
    let record = Record::load(root, id)?;
    Ok(Found::of(record, root, id))
}

impl Found {
    /// A container whose record we hold already (`run` right after `create`): only its
    /// status is read.
    pub fn of(record: Record, root: &Path, id: &ContainerId) -> Found {
        let dir = record::container_dir(root, id);
        let status = record.status(&dir);
        Found {
            record,
            dir,
            status,
        }
    }
}
