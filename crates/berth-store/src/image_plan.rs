//! An image about to be registered: its config and layer blobs are in the content store;
//! what remains is unpacking layers into snapshots and writing the record.

use berth_oci::{Digest, Reference};

#[derive(Debug, Clone)]
pub struct PlannedLayer {
    /// The blob as stored (compressed or not).
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The config's diffID for this layer: what its uncompressed content must hash to.
    pub diff_id: Digest,
}

/// A stored image's layer, planned again as it is (an image built or committed on top).
impl From<&crate::images::LayerRef> for PlannedLayer {
    fn from(layer: &crate::images::LayerRef) -> PlannedLayer {
        PlannedLayer {
            digest: layer.digest.clone(),
            media_type: layer.media_type.clone(),
            size: layer.size,
            diff_id: layer.diff_id.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImagePlan {
    pub config: Digest,
    pub config_bytes: Vec<u8>,
    pub layers: Vec<PlannedLayer>,
    pub tags: Vec<Reference>,
    /// The manifest blob when the source had one (OCI); otherwise one is written.
    pub manifest: Option<(Digest, String)>,
}
