//! Container snapshot records live in their own directories (`<n>/active.json`), not in the
//! shared index: creating or removing a container then rewrites no index and waits for no
//! fsync. A container's writable layer is disposable (Docker's overlay2 does not sync it
//! either); what matters is that a crash never leaves a half-made snapshot that looks whole.
//! So the record is written last on create (temp + rename) and unlinked first on remove: a
//! directory without one is incomplete and goes on open like any unknown directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ActiveRecord;
use crate::fsutil;

const ACTIVE_FILE: &str = "active.json";

#[derive(Serialize, Deserialize)]
struct OnDisk {
    key: String,
    #[serde(flatten)]
    record: ActiveRecord,
}

/// Records container snapshot `key` in its directory `dir` (atomically, without fsync).
pub(super) fn write(dir: &Path, key: &str, record: &ActiveRecord) -> io::Result<()> {
    let data = serde_json::to_vec(&OnDisk {
        key: key.to_owned(),
        record: record.clone(),
    })
    .map_err(io::Error::other)?;
    let (temp, mut file) = fsutil::create_temp(dir, "active")?;
    let result = file
        .write_all(&data)
        .and_then(|()| fs::rename(&temp, dir.join(ACTIVE_FILE)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Drops the record first, so a crash during the directory's removal leaves an unknown
/// directory (removed on open), never a snapshot with half its files.
pub(super) fn unlink(dir: &Path) -> io::Result<()> {
    match fs::remove_file(dir.join(ACTIVE_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Every container snapshot recorded under `root`, by key. An unreadable record is logged
/// and left out (its directory then counts as incomplete).
pub(super) fn load_all(root: &Path) -> io::Result<BTreeMap<String, ActiveRecord>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        let path = entry.path().join(ACTIVE_FILE);
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        match serde_json::from_slice::<OnDisk>(&data) {
            Ok(on_disk) if on_disk.record.id == id => {
                out.insert(on_disk.key, on_disk.record);
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "container snapshot record names another directory; ignoring it")
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "unreadable container snapshot record; ignoring it")
            }
        }
    }
    Ok(out)
}
