//! Image archive formats: `docker save` archives and OCI layouts in, docker/OCI archives out,
//! and directory trees exported as tars. Importing a rootfs tar lives in [`crate::Store`].

mod export;
mod load;
mod outer;
mod save;

use std::io;

use berth_oci::Digest;

pub use export::{ExportError, export_dir, read_capability};
pub(crate) use load::host_architecture;
pub use load::{read_archive, read_layout_dir};
pub use save::{ArchiveFormat, save_archive};

use crate::content::ContentError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("image archive stream: {source}")]
    Stream {
        source: Box<crate::layer::DecompressError>,
    },
    #[error("reading image archive{}: {source}", entry.as_ref().map(|e| format!(" at {e:?}")).unwrap_or_default())]
    Read {
        entry: Option<String>,
        source: io::Error,
    },
    #[error("image archive entry {entry:?}: {reason}")]
    BadEntry { entry: String, reason: &'static str },
    #[error("image archive entry {entry:?}: {source}")]
    Content { entry: String, source: ContentError },
    #[error(
        "not an image archive: neither manifest.json (docker save) nor index.json (OCI layout) found"
    )]
    UnknownFormat,
    #[error("image archive: {what} is not valid JSON: {source}")]
    BadJson {
        what: String,
        source: serde_json::Error,
    },
    #[error("image archive refers to {path:?}, which it does not contain")]
    MissingFile { path: String },
    #[error("blob {digest} is referenced but not present")]
    MissingBlob { digest: Digest },
    #[error("{digest} has unknown or unexpected media type {media_type:?}")]
    UnknownMediaType { digest: Digest, media_type: String },
    #[error("{digest} is not an image manifest or index")]
    NotAManifest { digest: Digest },
    #[error("image index {digest} has no manifest for linux/{architecture}")]
    NoMatchingPlatform {
        digest: Digest,
        architecture: String,
    },
    #[error("config {config} lists {diff_ids} diffIDs but the image has {layers} layers")]
    LayerCountMismatch {
        config: Digest,
        layers: usize,
        diff_ids: usize,
    },
    #[error("invalid image tag {tag:?} in archive: {source}")]
    BadTag {
        tag: String,
        source: berth_oci::ReferenceError,
    },
    #[error("writing image archive: {source}")]
    Write { source: io::Error },
}
