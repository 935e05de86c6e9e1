//! Resolving the images FROM and `COPY --from` name: from the store, pulled first when the
//! store lacks them or the build asked for `--pull` (each reference at most once per build).

use berth_store::StoreError;
use berth_store::images::ImageRecord;

use super::Builder;
use crate::engine::error::BuildError;

impl Builder<'_> {
    pub(super) fn resolve_image(
        &mut self,
        image: &str,
        line: usize,
    ) -> Result<ImageRecord, BuildError> {
        let local = self.store.images.resolve(image);
        let wanted = self.opts.pull || local.is_err();
        if let Some(puller) = self.opts.puller.clone().filter(|_| wanted)
            && self.pulled.insert(image.to_string())
        {
            self.say(&format!(" ---> Pulling {image}\n"));
            puller.pull(image).map_err(|source| BuildError::Pull {
                line,
                reference: image.to_string(),
                source,
            })?;
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
