//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) as a
//! [`BlobSink`] and [`BlobSource`]: what tests and the CLI use until the content store lands.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use berth_oci::Digest;
use berth_oci::media_type;
use serde::{Deserialize, Serialize};

use super::manifest::Descriptor;
use super::sink::{BlobSink, BlobSource, BlobWriter, SinkError};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexJson {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// An OCI layout directory. `index.json` updates are serialised by a mutex (one process).
#[derive(Debug)]
pub struct LayoutDir {
    root: PathBuf,
    index_lock: Mutex<()>,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SinkError {
    let path = path.to_owned();
    move |source| SinkError::Io { op, path, source }
}

impl LayoutDir {
    /// Opens `root`, creating an empty layout if the directory is missing or empty.
    pub fn create(root: &Path) -> Result<LayoutDir, SinkError> {
        fs::create_dir_all(root.join("blobs/sha256")).map_err(io("create", root))?;
        let marker = root.join("oci-layout");
        if !marker.exists() {
            write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = root.join("index.json");
        if !index.exists() {
            let empty = IndexJson {
                schema_version: 2,
                media_type: Some(media_type::OCI_INDEX.to_owned()),
                manifests: Vec::new(),
            };
            write_atomic(&index, &to_json(&empty))?;
        }
        Self::open(root)
    }

    /// Opens an existing layout.
    pub fn open(root: &Path) -> Result<LayoutDir, SinkError> {
        if !root.join("oci-layout").is_file() || !root.join("index.json").is_file() {
            return Err(SinkError::BadLayout {
                path: root.to_owned(),
                reason: "missing oci-layout or index.json".into(),
            });
        }
        Ok(LayoutDir {
            root: root.to_owned(),
            index_lock: Mutex::new(()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    fn read_index(&self) -> Result<IndexJson, SinkError> {
        let path = self.root.join("index.json");
        let bytes = fs::read(&path).map_err(io("read", &path))?;
        serde_json::from_slice(&bytes).map_err(|e| SinkError::BadLayout {
            path: path.clone(),
            reason: e.to_string(),
        })
    }
}

fn to_json(index: &IndexJson) -> Vec<u8> {
    // Serialising our own plain structs cannot fail.
    serde_json::to_vec(index).unwrap_or_default()
}

/// Replaces `path` with `bytes` atomically and durably.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    berth_fsutil::write_atomic(path, bytes, 0o644).map_err(io("write atomically", path))
}

impl BlobSink for LayoutDir {
    fn has_blob(&self, digest: &Digest) -> Result<bool, SinkError> {
        Ok(self.blob_path(digest).is_file())
    }

    fn begin(&self, digest: &Digest, size: u64) -> Result<Box<dyn BlobWriter>, SinkError> {
        let dir = self.root.join("blobs").join(digest.algorithm().as_str());
        fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let tmp = tempfile::Builder::new()
            .prefix(".ingest-")
            .tempfile_in(&dir)
            .map_err(io("create temp in", &dir))?;
        Ok(Box::new(LayoutWriter {
            tmp,
            target: self.blob_path(digest),
            digest: digest.clone(),
            expected: size,
            written: 0,
        }))
    }

    fn add_root(&self, descriptor: &Descriptor, ref_name: &str) -> Result<(), SinkError> {
        let _guard = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut index = self.read_index()?;
        // One root per name: a re-pull of the same tag replaces the old entry.
        index.manifests.retain(|d| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .is_none_or(|n| n != ref_name)
        });
        let mut entry = descriptor.clone();
        entry
            .annotations
            .get_or_insert_with(Default::default)
            .insert(REF_NAME.to_owned(), ref_name.to_owned());
        index.manifests.push(entry);
        write_atomic(&self.root.join("index.json"), &to_json(&index))
    }
}

struct LayoutWriter {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    digest: Digest,
    expected: u64,
    written: u64,
}

impl BlobWriter for LayoutWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.tmp
            .write_all(chunk)
            .map_err(io("write", self.tmp.path()))?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        if self.written != self.expected {
            return Err(SinkError::SizeMismatch {
                digest: self.digest,
                expected: self.expected,
                written: self.written,
            });
        }
        self.tmp
            .as_file()
            .sync_data()
            .map_err(io("fsync", self.tmp.path()))?;
        self.tmp.persist(&self.target).map_err(|e| SinkError::Io {
            op: "rename into",
            path: self.target.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

impl BlobSource for LayoutDir {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SinkError> {
        let path = self.blob_path(digest);
        match File::open(&path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SinkError::NotFound {
                digest: digest.clone(),
                location: self.root.display().to_string(),
            }),
            Err(e) => Err(io("open", &path)(e)),
        }
    }

    fn roots(&self) -> Result<Vec<(Descriptor, Option<String>)>, SinkError> {
        Ok(self
            .read_index()?
            .manifests
            .into_iter()
            .map(|d| {
                let name = d
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .cloned();
                (d, name)
            })
            .collect())
    }
}
