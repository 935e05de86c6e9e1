//! Layers taken from the cache come in the compression of the build that made them; this
//! build's `--compression` applies to them too, so the blob is recompressed (same diff ID,
//! deterministic, so every build asking for zstd gets the same digest).

use berth_store::PlannedLayer;

use super::Builder;
use crate::engine::compression::recompress;
use crate::engine::error::BuildError;

impl Builder<'_> {
    /// `layer` as this build compresses layers (unchanged when it already is).
    pub(super) fn in_build_compression(
        &self,
        layer: PlannedLayer,
        line: usize,
        instruction: &'static str,
    ) -> Result<PlannedLayer, BuildError> {
        let want = self.opts.compression;
        if layer.media_type == want.media_type() {
            return Ok(layer);
        }
        let path = self.store.content.blob_path(&layer.digest);
        let io_err = |source| BuildError::Io {
            line,
            instruction,
            path: path.clone(),
            source,
        };
        let blob = self
            .store
            .content
            .open_blob(&layer.digest)
            .map_err(|e| BuildError::Store {
                line,
                instruction,
                source: Box::new(e.into()),
            })?;
        let data = recompress(std::io::BufReader::new(blob), want).map_err(io_err)?;
        let digest = self
            .store
            .content
            .ingest_bytes(&data)
            .map_err(|e| BuildError::Store {
                line,
                instruction,
                source: Box::new(e.into()),
            })?;
        Ok(PlannedLayer {
            digest,
            media_type: want.media_type().to_string(),
            size: data.len() as u64,
            diff_id: layer.diff_id,
        })
    }
}
