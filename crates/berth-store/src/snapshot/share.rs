//! One layer directory under several chains: a layer's files depend only on its diff ID, and
//! a recorded layer directory is never written again (overlayfs copies up, the copy driver
//! copies), so a builder that reuses a layer on another parent records the same directory
//! under the new chain ID instead of unpacking the blob again. The directory goes when the
//! last record naming it does ([`Snapshotter::remove_layer`]).

use berth_oci::Digest;

use super::{LayerRecord, SnapshotError, Snapshotter, chain_id};

impl Snapshotter {
    /// Records layer snapshot `source`'s directory as the same diff ID on top of `parent` and
    /// returns that chain ID (kept as it is when it exists already).
    pub fn share_layer(
        &self,
        source: &Digest,
        parent: Option<&Digest>,
    ) -> Result<Digest, SnapshotError> {
        let mut index = self.lock();
        let record =
            index
                .layers
                .get(source)
                .cloned()
                .ok_or_else(|| SnapshotError::LayerMissing {
                    chain_id: source.clone(),
                })?;
        Snapshotter::require_parent(&index, parent)?;
        let chain = chain_id(parent, &record.diff_id);
        if index.layers.contains_key(&chain) {
            return Ok(chain);
        }
        let shared = LayerRecord {
            id: record.id,
            parent: parent.cloned(),
            diff_id: record.diff_id,
            size: record.size,
            durable: record.durable,
        };
        self.insert_layer(&mut index, &chain, shared)?;
        Ok(chain)
    }
}
