//! A container snapshot becomes a layer without copying (containerd's snapshotter Commit):
//! its overlay upper dir already holds the step's changes in the layer format (whiteouts as
//! 0:0 char devices, opaque dirs marked by xattr), so a builder that has encoded that dir as
//! a layer blob records the same directory as the layer's snapshot instead of unpacking the
//! blob into a second copy.

use berth_oci::Digest;

use super::{Driver, LayerRecord, SnapshotError, Snapshotter, active, chain_id};
use crate::fsutil;

impl Snapshotter {
    /// Records unmounted overlay container snapshot `key` as the layer `diff_id` on top of
    /// `parent` (not necessarily the snapshot's own parent: a `COPY --link` layer is made
    /// over nothing and applied onto the current chain) and returns its chain ID. The caller
    /// vouches that `diff_id` is the hash of the upper dir's content as a layer tar and that
    /// `size` is its content size. When the chain exists already, the container snapshot is
    /// removed and the existing layer kept.
    ///
    /// Crash safety: the files are synced before anything points at them, and the container
    /// record goes before the layer record is written, so a crash in between leaves an
    /// unknown directory that [`Snapshotter::open`] removes.
    pub fn commit_active(
        &self,
        key: &str,
        parent: Option<&Digest>,
        diff_id: &Digest,
        size: u64,
    ) -> Result<Digest, SnapshotError> {
        let chain = chain_id(parent, diff_id);
        let record = {
            let index = self.lock();
            let record = Snapshotter::active_record(&index, key)?;
            Snapshotter::require_parent(&index, parent)?;
            if index.layers.contains_key(&chain) {
                drop(index);
                self.remove(key)?;
                return Ok(chain);
            }
            record
        };
        if record.driver != Driver::Overlay {
            return Err(SnapshotError::NotOverlay {
                key: key.to_owned(),
            });
        }
        let dir = self.dir(record.id);
        let io_err = |path: std::path::PathBuf| move |source| SnapshotError::Io { path, source };
        // The overlay work dir is scratch space; a layer is only its `fs`.
        fsutil::remove_any(&dir.join("work")).map_err(io_err(dir.join("work")))?;
        fsutil::sync_filesystem(&dir).map_err(io_err(dir.clone()))?;
        let mut index = self.lock();
        if index.active.remove(key).is_none() {
            return Err(SnapshotError::KeyMissing {
                key: key.to_owned(),
            });
        }
        active::unlink(&dir).map_err(io_err(dir.clone()))?;
        if index.layers.contains_key(&chain) {
            // Recorded by someone else while we synced; theirs is as good as ours.
            drop(index);
            fsutil::remove_any(&dir).map_err(io_err(dir))?;
            return Ok(chain);
        }
        let layer = LayerRecord {
            id: record.id,
            parent: parent.cloned(),
            diff_id: diff_id.clone(),
            size,
        };
        if let Err(e) = self.insert_layer(&mut index, &chain, layer) {
            drop(index);
            let _ = fsutil::remove_any(&dir);
            return Err(e);
        }
        Ok(chain)
    }
}
