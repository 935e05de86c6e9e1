//! Reads the outer tar of an image archive in one pass: blobs go straight into the content
//! store (verified against their `blobs/<alg>/<hex>` name when they have one), small metadata
//! files stay in memory, symlinks (Docker's deduplicated `layer.tar`s) are remembered.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path};

use berth_oci::Digest;

use super::ArchiveError;
use crate::content::ContentStore;
use crate::layer;

/// Metadata files larger than this are refused rather than buffered.
const MAX_METADATA: u64 = 16 << 20;

#[derive(Debug, Default)]
pub struct OuterArchive {
    /// Small files not under `blobs/` (manifest.json, index.json, `<id>.json`, `<id>/json`…).
    pub metadata: HashMap<String, Vec<u8>>,
    /// Every other regular file, by normalised path, as stored in the content store.
    pub blobs: HashMap<String, Digest>,
    symlinks: HashMap<String, String>,
}

impl OuterArchive {
    pub fn read(
        reader: impl Read,
        content: &ContentStore,
        added: &mut Vec<Digest>,
    ) -> Result<OuterArchive, ArchiveError> {
        let (_, stream) = layer::decompressed(reader).map_err(|source| ArchiveError::Stream {
            source: source.into(),
        })?;
        let mut archive = tar::Archive::new(stream);
        let mut out = OuterArchive::default();
        let entries = archive.entries().map_err(|source| ArchiveError::Read {
            entry: None,
            source,
        })?;
        for entry in entries {
            let mut entry = entry.map_err(|source| ArchiveError::Read {
                entry: None,
                source,
            })?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalise(&raw) else {
                return Err(ArchiveError::BadEntry {
                    entry: raw,
                    reason: "path escapes the archive",
                });
            };
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {}
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned())
                        .unwrap_or_default();
                    let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                        Path::new(&path)
                            .parent()
                            .map(|p| p.join(&target))
                            .unwrap_or_default()
                    } else {
                        Path::new(&target).to_path_buf()
                    };
                    if let Some(resolved) = normalise(&base.to_string_lossy()) {
                        out.symlinks.insert(path, resolved);
                    }
                    continue;
                }
                _ => continue,
            }
            let size = entry.header().size().map_err(|source| ArchiveError::Read {
                entry: Some(raw.clone()),
                source,
            })?;
            if let Some(digest) = blob_name(&path) {
                if !content.contains(&digest) {
                    added.push(digest.clone());
                }
                content
                    .ingest(&mut entry, &digest, Some(size))
                    .map_err(|source| ArchiveError::Content {
                        entry: raw.clone(),
                        source,
                    })?;
                out.blobs.insert(path, digest);
            } else if size <= MAX_METADATA && !path.ends_with("layer.tar") {
                let mut data = Vec::with_capacity(size as usize);
                entry
                    .read_to_end(&mut data)
                    .map_err(|source| ArchiveError::Read {
                        entry: Some(raw.clone()),
                        source,
                    })?;
                out.metadata.insert(path, data);
            } else {
                let (digest, _) = content.ingest_unverified(&mut entry).map_err(|source| {
                    ArchiveError::Content {
                        entry: raw.clone(),
                        source,
                    }
                })?;
                added.push(digest.clone());
                out.blobs.insert(path, digest);
            }
        }
        Ok(out)
    }

    /// The same from an OCI layout directory: `blobs/<alg>/<hex>` verified into the store,
    /// `index.json` and `oci-layout` kept in memory.
    pub fn read_dir(
        dir: &Path,
        content: &ContentStore,
        added: &mut Vec<Digest>,
    ) -> Result<OuterArchive, ArchiveError> {
        let read_err = |path: &Path| {
            let entry = Some(path.display().to_string());
            move |source| ArchiveError::Read { entry, source }
        };
        let mut out = OuterArchive::default();
        for name in ["index.json", "oci-layout"] {
            let path = dir.join(name);
            if path.is_file() {
                out.metadata.insert(
                    name.to_owned(),
                    std::fs::read(&path).map_err(read_err(&path))?,
                );
            }
        }
        let blobs = dir.join("blobs");
        for algorithm in std::fs::read_dir(&blobs).map_err(read_err(&blobs))? {
            let algorithm = algorithm.map_err(read_err(&blobs))?;
            for blob in std::fs::read_dir(algorithm.path()).map_err(read_err(&algorithm.path()))? {
                let blob = blob.map_err(read_err(&algorithm.path()))?;
                let rel = format!(
                    "blobs/{}/{}",
                    algorithm.file_name().to_string_lossy(),
                    blob.file_name().to_string_lossy()
                );
                let Some(digest) = blob_name(&rel) else {
                    continue;
                };
                if !content.contains(&digest) {
                    added.push(digest.clone());
                }
                let file = std::fs::File::open(blob.path()).map_err(read_err(&blob.path()))?;
                content
                    .ingest(file, &digest, None)
                    .map_err(|source| ArchiveError::Content {
                        entry: rel.clone(),
                        source,
                    })?;
                out.blobs.insert(rel, digest);
            }
        }
        Ok(out)
    }

    /// Follows symlinks (a bounded number of hops) to the real file's path.
    fn resolve<'a>(&'a self, path: &'a str) -> &'a str {
        let mut current = path;
        for _ in 0..16 {
            match self.symlinks.get(current) {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }

    /// The blob stored for archive file `path` (following symlinks), ingesting small metadata
    /// files on demand.
    pub fn blob(
        &self,
        path: &str,
        content: &ContentStore,
        added: &mut Vec<Digest>,
    ) -> Result<Digest, ArchiveError> {
        let path = normalise(path).ok_or_else(|| ArchiveError::MissingFile {
            path: path.to_owned(),
        })?;
        let real = self.resolve(&path);
        if let Some(digest) = self.blobs.get(real) {
            return Ok(digest.clone());
        }
        if let Some(data) = self.metadata.get(real) {
            let digest = berth_oci::Digest::sha256_of(data);
            if !content.contains(&digest) {
                added.push(digest);
            }
            return content
                .ingest_bytes(data)
                .map_err(|source| ArchiveError::Content {
                    entry: real.to_owned(),
                    source,
                });
        }
        Err(ArchiveError::MissingFile { path: path.clone() })
    }
}

/// `./a/b` → `a/b`; `..` that would leave the archive → `None`.
fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => {}
        }
    }
    Some(parts.join("/"))
}

/// `blobs/sha256/<hex>` → its digest.
fn blob_name(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (algorithm, hex) = rest.split_once('/')?;
    format!("{algorithm}:{hex}").parse().ok()
}
