//! Layers unpacked ahead of the index: a pull unpacks every layer at once, each into its own
//! directory while its blob downloads, then syncs the filesystem once and records them in
//! order (a layer's chain ID needs its parent's). Until recorded, a pending layer is just a
//! directory that a crash leaves for [`Snapshotter::open`] to remove.

use std::io::Read;
use std::path::PathBuf;

use berth_oci::Digest;

use super::{LayerRecord, SnapshotError, Snapshotter, chain_id};
use crate::fsutil;

/// A layer unpacked into its directory but not in the index; dropped unrecorded, the
/// directory is removed.
pub struct PendingLayer {
    id: u64,
    dir: PathBuf,
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    content_size: u64,
    recorded: bool,
}

impl Drop for PendingLayer {
    fn drop(&mut self) {
        if !self.recorded {
            let _ = fsutil::remove_any(&self.dir);
        }
    }
}

impl Snapshotter {
    /// Unpacks `stream` into a new layer directory without syncing or recording it.
    pub fn unpack_pending(&self, stream: impl Read + Send) -> Result<PendingLayer, SnapshotError> {
        let id = self.lock().allocate_id();
        let dir = self.dir(id);
        match self.unpack_into(&dir, None, None, stream, false) {
            Ok(applied) => Ok(PendingLayer {
                id,
                dir,
                diff_id: applied.diff_id,
                content_size: applied.content_size,
                recorded: false,
            }),
            Err(e) => {
                let _ = fsutil::remove_any(&dir);
                Err(e)
            }
        }
    }

    /// Records `layer` on top of `parent` after checking it is `expected_diff_id`. The caller
    /// has synced the filesystem since the layer was unpacked. Returns the chain ID; when that
    /// chain exists already (another pull won the race) the pending copy is discarded.
    pub fn record_pending(
        &self,
        parent: Option<&Digest>,
        expected_diff_id: &Digest,
        mut layer: PendingLayer,
    ) -> Result<Digest, SnapshotError> {
        if &layer.diff_id != expected_diff_id {
            return Err(SnapshotError::DiffIdMismatch {
                expected: expected_diff_id.clone(),
                actual: layer.diff_id.clone(),
            });
        }
        let chain = chain_id(parent, &layer.diff_id);
        let mut index = self.lock();
        Snapshotter::require_parent(&index, parent)?;
        if index.layers.contains_key(&chain) {
            return Ok(chain);
        }
        let record = LayerRecord {
            id: layer.id,
            parent: parent.cloned(),
            diff_id: layer.diff_id.clone(),
            size: layer.content_size,
            durable: true,
        };
        self.insert_layer(&mut index, &chain, record)?;
        layer.recorded = true;
        Ok(chain)
    }
}
