//! Image records and tags, persisted in `<root>/images.json` (temp + fsync + rename on change).
//!
//! Docker's rules: an image's ID is its config digest; a tag names one image (tagging moves it);
//! removing by tag only untags unless it was the last name; removing by ID an image known under
//! several repositories needs `force`; an image a container uses is never deleted.

mod record;
pub mod time;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_oci::{Digest, Reference};

pub use record::{ImageRecord, LayerRef};

use crate::fsutil;

const IMAGES_FILE: &str = "images.json";

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image records {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("image records {path} are corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("No such image: {name}")]
    NotFound { name: String },
    #[error("image ID prefix {prefix:?} is ambiguous")]
    Ambiguous { prefix: String },
    #[error(
        "conflict: unable to delete {id} (must be forced) - image is referenced in multiple repositories"
    )]
    MultipleRepositories { id: String },
    #[error("conflict: unable to delete {id} - image is being used by container(s) {containers:?}")]
    InUse { id: String, containers: Vec<String> },
    #[error("invalid reference {name:?}: {source}")]
    BadReference {
        name: String,
        source: berth_oci::ReferenceError,
    },
}

/// Who uses an image right now; the engine implements this over its containers.
pub trait ImageUsers {
    /// IDs of containers created from `image`.
    fn containers_using(&self, image: &Digest) -> Vec<String>;
}

/// For callers (and tests) with no containers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUsers;

impl ImageUsers for NoUsers {
    fn containers_using(&self, _: &Digest) -> Vec<String> {
        Vec::new()
    }
}

/// What `remove` did, in Docker's terms (`Untagged:` / `Deleted:` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveOutcome {
    pub untagged: Vec<Reference>,
    pub deleted: Option<Digest>,
}

pub struct ImageStore {
    path: PathBuf,
    images: Mutex<BTreeMap<Digest, ImageRecord>>,
}

impl ImageStore {
    pub fn open(root: &Path) -> Result<ImageStore, ImageError> {
        let path = root.join(IMAGES_FILE);
        let images = match fs::read(&path) {
            Ok(data) => serde_json::from_slice(&data).map_err(|source| ImageError::Corrupt {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(ImageError::Io { path, source }),
        };
        Ok(ImageStore {
            path,
            images: Mutex::new(images),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Digest, ImageRecord>> {
        self.images.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, images: &BTreeMap<Digest, ImageRecord>) -> Result<(), ImageError> {
        let data = serde_json::to_vec_pretty(images).map_err(|source| ImageError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        fsutil::atomic_write(&self.path, &data).map_err(|source| ImageError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Adds or updates an image; its tags are moved away from any other image holding them.
    pub fn put(&self, mut record: ImageRecord) -> Result<ImageRecord, ImageError> {
        let mut images = self.lock();
        if let Some(existing) = images.get(&record.id) {
            for tag in &existing.repo_tags {
                if !record.repo_tags.contains(tag) {
                    record.repo_tags.push(tag.clone());
                }
            }
            for digest in &existing.repo_digests {
                if !record.repo_digests.contains(digest) {
                    record.repo_digests.push(digest.clone());
                }
            }
        }
        for other in images.values_mut().filter(|i| i.id != record.id) {
            other.repo_tags.retain(|t| !record.repo_tags.contains(t));
        }
        if !record.repo_tags.is_empty() {
            record.last_tag_time = Some(time::now_unix());
        }
        images.insert(record.id.clone(), record.clone());
        self.save(&images)?;
        Ok(record)
    }

    pub fn list(&self) -> Vec<ImageRecord> {
        self.lock().values().cloned().collect()
    }

    /// Finds an image by full ID, ID prefix (≥ 1 hex char, unique), tag or digest reference.
    pub fn resolve(&self, name: &str) -> Result<ImageRecord, ImageError> {
        let images = self.lock();
        Self::resolve_in(&images, name).cloned()
    }

    fn resolve_in<'a>(
        images: &'a BTreeMap<Digest, ImageRecord>,
        name: &str,
    ) -> Result<&'a ImageRecord, ImageError> {
        if let Ok(digest) = name.parse::<Digest>()
            && let Some(found) = images.get(&digest)
        {
            return Ok(found);
        }
        // A name that is a tag wins over an ID prefix that happens to match it (as in Docker).
        if let Ok(reference) = Reference::parse_normalized(name)
            && let Some(found) = images
                .values()
                .find(|i| i.repo_tags.contains(&reference) || i.repo_digests.contains(&reference))
        {
            return Ok(found);
        }
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut matches = images.values().filter(|i| i.id.hex().starts_with(hex));
            match (matches.next(), matches.next()) {
                (Some(one), None) => return Ok(one),
                (Some(_), Some(_)) => {
                    return Err(ImageError::Ambiguous {
                        prefix: name.to_owned(),
                    });
                }
                _ => {}
            }
        }
        Err(ImageError::NotFound {
            name: name.to_owned(),
        })
    }

    /// Adds tag `target` to the image `source` names.
    pub fn tag(&self, source: &str, target: &str) -> Result<ImageRecord, ImageError> {
        let reference =
            Reference::parse_normalized(target).map_err(|source| ImageError::BadReference {
                name: target.to_owned(),
                source,
            })?;
        let mut record = self.resolve(source)?;
        if !record.repo_tags.contains(&reference) {
            record.repo_tags.push(reference);
        }
        self.put(record)
    }

    /// Docker's `rmi`: untags a tag, deletes the record once nothing names it; by ID, several
    /// repositories need `force`; an image in use is never deleted.
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        users: &dyn ImageUsers,
    ) -> Result<RemoveOutcome, ImageError> {
        let mut images = self.lock();
        let record = Self::resolve_in(&images, name)?.clone();
        let mut outcome = RemoveOutcome::default();
        let by_reference = Reference::parse_normalized(name)
            .ok()
            .filter(|r| record.repo_tags.contains(r) || record.repo_digests.contains(r));
        let containers = users.containers_using(&record.id);
        if let Some(reference) = by_reference {
            let remaining = record.repo_tags.len() + record.repo_digests.len();
            if remaining > 1 {
                let entry = images.get_mut(&record.id).expect("resolved above");
                entry.repo_tags.retain(|t| t != &reference);
                entry.repo_digests.retain(|t| t != &reference);
                outcome.untagged.push(reference);
                self.save(&images)?;
                return Ok(outcome);
            }
        } else {
            let repositories: std::collections::BTreeSet<String> =
                record.repo_tags.iter().map(Reference::name).collect();
            if repositories.len() > 1 && !force {
                return Err(ImageError::MultipleRepositories {
                    id: record.id.short().to_owned(),
                });
            }
        }
        if !containers.is_empty() {
            return Err(ImageError::InUse {
                id: record.id.short().to_owned(),
                containers,
            });
        }
        outcome.untagged.extend(record.repo_tags.iter().cloned());
        outcome.untagged.extend(record.repo_digests.iter().cloned());
        images.remove(&record.id);
        outcome.deleted = Some(record.id);
        self.save(&images)?;
        Ok(outcome)
    }

    /// Deletes dangling images (or, with `all`, every image) no container uses.
    pub fn prune(
        &self,
        all: bool,
        users: &dyn ImageUsers,
    ) -> Result<Vec<RemoveOutcome>, ImageError> {
        let mut images = self.lock();
        let victims: Vec<Digest> = images
            .values()
            .filter(|i| (all || i.is_dangling()) && users.containers_using(&i.id).is_empty())
            .map(|i| i.id.clone())
            .collect();
        let mut outcomes = Vec::new();
        for id in victims {
            if let Some(record) = images.remove(&id) {
                outcomes.push(RemoveOutcome {
                    untagged: record
                        .repo_tags
                        .into_iter()
                        .chain(record.repo_digests)
                        .collect(),
                    deleted: Some(id),
                });
            }
        }
        self.save(&images)?;
        Ok(outcomes)
    }
}
