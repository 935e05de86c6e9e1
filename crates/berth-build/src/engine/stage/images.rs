//! Resolving the images FROM and `COPY --from` name: from the store, pulled first when the
//! store lacks them or the build asked for `--pull` (each reference at most once per build);
//! a stage's start from one (or from nothing: `scratch`).

use berth_store::images::ImageRecord;
use berth_store::{PlannedLayer, StoreError};
use serde_json::Value;

use super::{Builder, Built};
use crate::engine::cache::CacheKey;
use crate::engine::config::ImageConfig;
use crate::engine::error::BuildError;
use crate::engine::progress::Vertex;

impl Builder<'_> {
    /// The image's record; a progress vertex (once per image) covers the lookup and pull.
    pub(super) fn resolve_image(
        &mut self,
        image: &str,
        line: usize,
    ) -> Result<ImageRecord, BuildError> {
        let vertex = self.metadata_vertex(image);
        let result = self.lookup_or_pull(image, line, vertex.as_ref());
        super::vertex::finish(vertex, &result);
        result
    }

    fn lookup_or_pull(
        &mut self,
        image: &str,
        line: usize,
        vertex: Option<&Vertex>,
    ) -> Result<ImageRecord, BuildError> {
        let local = self.store.images.resolve(image);
        let wanted = self.opts.pull || local.is_err();
        if let Some(puller) = self.opts.puller.clone().filter(|_| wanted)
            && self.pulled.insert(image.to_string())
        {
            self.say(&format!(" ---> Pulling {image}\n"));
            let status = format!("pulling {image}");
            let started = vertex.map(|v| v.begin_status(&status));
            puller.pull(image).map_err(|source| BuildError::Pull {
                line,
                reference: image.to_string(),
                source,
            })?;
            if let (Some(v), Some(started)) = (vertex, started) {
                v.end_status(&status, started);
            }
            return self
                .store
                .images
                .resolve(image)
                .map_err(|e| base_error(line, image, e.into()));
        }
        local.map_err(|e| base_error(line, image, e.into()))
    }

    /// An empty start: no layers, a config with only PATH.
    pub(super) fn scratch_base(&self) -> Built {
        Built {
            config: ImageConfig::from_base(None, &self.created),
            layers: Vec::new(),
            chain: None,
            cache_key: CacheKey::base("scratch"),
            skip_cache: false,
        }
    }

    /// A stage's start from an image of the store (pulled first when missing).
    pub(super) fn image_base(&mut self, image: &str, line: usize) -> Result<Built, BuildError> {
        let fail = |source: StoreError| BuildError::BaseImage {
            line,
            reference: image.to_string(),
            source: Box::new(source),
        };
        let record = self.resolve_image(image, line)?;
        let bytes = self
            .store
            .content
            .read_small(&record.id, 16 << 20)
            .map_err(|e| fail(e.into()))?;
        let doc: Value =
            serde_json::from_slice(&bytes).map_err(|source| BuildError::BaseConfig {
                line,
                reference: image.to_string(),
                source,
            })?;
        Ok(Built {
            config: ImageConfig::from_base(Some(doc), &self.created),
            layers: record.layers.iter().map(PlannedLayer::from).collect(),
            chain: record.chain_id.clone(),
            cache_key: CacheKey::base(&format!("image:{}", record.id)),
            skip_cache: false,
        })
    }
}

fn base_error(line: usize, image: &str, source: StoreError) -> BuildError {
    BuildError::BaseImage {
        line,
        reference: image.to_string(),
        source: Box::new(source),
    }
}
