//! Content-addressed registry storage on the local filesystem.
//!
//! ```text
//! <root>/blobs/sha256/<hex>                          blob bytes, shared by all repositories
//! <root>/repositories/<name>/_layers/sha256/<hex>    "this repo may serve that blob" (holds the digest)
//! <root>/repositories/<name>/_manifests/revisions/sha256/<hex>   manifest link (holds its media type)
//! <root>/repositories/<name>/_manifests/tags/<tag>   tag → manifest digest
//! <root>/uploads/<uuid>/{data,repo}                  upload sessions in progress
//! <root>/tmp/                                        temp files, renamed into place when complete
//! <root>/gc.lock                                     flock(2) barrier between gc and reference writes
//! ```
//! Every file becomes visible by `rename` after `fsync`, so readers never see partial content.

mod blobs;
mod fsutil;
pub mod gc;
mod lock;
mod repo;
pub mod uploads;

use std::io;
use std::path::{Path, PathBuf};

pub use fsutil::random_hex;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("link file {path} holds {content:?}, not a digest")]
    CorruptLink { path: PathBuf, content: String },
    #[error("upload body: {source}")]
    Body { source: hyper::Error },
}

pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Handle on one registry root directory.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Opens (creating if needed) the layout under `root`.
    pub fn open(root: &Path) -> Result<Storage, StorageError> {
        for sub in ["blobs/sha256", "repositories", "uploads", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        }
        Ok(Storage {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tmp_path(&self) -> PathBuf {
        self.root.join("tmp").join(random_hex(16))
    }
}
