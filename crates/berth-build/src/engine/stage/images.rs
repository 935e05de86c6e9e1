//! Resolving the images FROM and `COPY --from` name: from the store, pulled first when the
//! store lacks them or the build asked for `--pull` (each reference at most once per build).

use berth_store::StoreError;
use berth_store::images::ImageRecord;

use super::Builder;
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
}

fn base_error(line: usize, image: &str, source: StoreError) -> BuildError {
    BuildError::BaseImage {
        line,
        reference: image.to_string(),
        source: Box::new(source),
    }
}
