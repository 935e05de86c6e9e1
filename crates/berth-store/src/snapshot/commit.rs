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
    /// unknown directory that [`Snapshotter::open`] removes. With `durable` false the layer is
    /// recorded without a sync and only in memory (a builder syncs all its layers once, at
    /// the end: [`crate::Store::sync_pending`]); a crash before then loses it.
    pub fn commit_active(
        &self,
        key: &str,
        parent: Option<&Digest>,
        diff_id: &Digest,
        size: u64,
        durable: bool,
    ) -> Result<Digest, SnapshotError> {
        let chain = chain_id(parent, diff_id);
        let record = {
            let index = self.lock();
            let record = Snapshotter::active_record(&index, key)?;
            Snapshotter::require_parent(&index, parent)?;
            if index.layers.contains_key(&chain) {
                drop(index);
                // Thousands of files, perhaps: removed off the caller's path.
                self.remove_in_background(key)?;
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
        if durable {
            fsutil::sync_filesystem(&dir).map_err(io_err(dir.clone()))?;
        }
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
            durable,
        };
        if !durable {
            // Nothing to save: index.json holds durable layers only.
            index.layers.insert(chain.clone(), layer);
            return Ok(chain);
        }
        if let Err(e) = self.insert_layer(&mut index, &chain, layer) {
            drop(index);
            let _ = fsutil::remove_any(&dir);
            return Err(e);
        }
        Ok(chain)
    }
}

impl Snapshotter {
    /// The layers recorded without a sync (see [`Snapshotter::commit_active`]).
    pub fn not_durable(&self) -> Vec<Digest> {
        let index = self.lock();
        index
            .layers
            .iter()
            .filter(|(_, l)| !l.durable)
            .map(|(chain, _)| chain.clone())
            .collect()
    }

    /// Marks `chains` durable, their files having been synced since they were recorded, and
    /// saves them.
    pub fn mark_durable(&self, chains: &[Digest]) -> Result<(), SnapshotError> {
        let mut index = self.lock();
        let mut changed = false;
        for chain in chains {
            if let Some(layer) = index.layers.get_mut(chain) {
                changed |= !layer.durable;
                layer.durable = true;
            }
        }
        if changed {
            self.save(&index)?;
        }
        Ok(())
    }
}
