//! The persisted image records: one per image ID (config digest), with its tags.

use berth_oci::{Digest, Reference};
use serde::{Deserialize, Serialize};

/// One layer of an image: the blob as stored and the uncompressed content's diffID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub diff_id: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image ID: the digest of its config blob.
    pub id: Digest,
    /// The manifest blob describing config and layers.
    pub manifest: Digest,
    pub manifest_media_type: String,
    pub layers: Vec<LayerRef>,
    /// Chain ID of the top layer snapshot; `None` for an image with no layers.
    pub chain_id: Option<Digest>,
    #[serde(default)]
    pub repo_tags: Vec<Reference>,
    #[serde(default)]
    pub repo_digests: Vec<Reference>,
    /// Unix seconds when a tag was last added (Docker's Metadata.LastTagTime).
    #[serde(default)]
    pub last_tag_time: Option<u64>,
}

impl ImageRecord {
    /// Every blob this image needs kept in the content store.
    pub fn blobs(&self) -> impl Iterator<Item = &Digest> {
        [&self.manifest, &self.id]
            .into_iter()
            .chain(self.layers.iter().map(|l| &l.digest))
    }

    pub fn is_dangling(&self) -> bool {
        self.repo_tags.is_empty() && self.repo_digests.is_empty()
    }
}
