//! `list`: every container under the state root.

use std::path::Path;

use super::ContainerId;
use super::lookup::{self, LookupError};
use super::state::ContainerState;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("reading state root {path}: {source}")]
    Root {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

/// All containers, sorted by id. A missing root means no containers.
pub fn list(root: &Path) -> Result<Vec<ContainerState>, ListError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ListError::Root {
                path: root.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| ContainerId::parse(n).ok()) else {
            continue;
        };
        match lookup::find(root, &id) {
            Ok(found) => out.push(ContainerState::from(&found)),
            // A container being created (no state.json yet) or deleted meanwhile.
            Err(LookupError::Record(super::RecordError::NotFound { .. })) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
