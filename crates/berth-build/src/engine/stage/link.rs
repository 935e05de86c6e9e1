//! COPY/ADD --link: the step's layer is made in an empty directory, so it does not depend on
//! the layers below. Besides the usual cache entry it is recorded under a key without the
//! parent; when the base changes, that layer is applied onto the new chain instead of
//! copying again (BuildKit's rebase of linked layers).

use berth_oci::Digest;

use super::{Builder, Built};
use crate::engine::cache::{self, CacheEntry};
use crate::engine::error::BuildError;

impl Builder<'_> {
    /// Applies the recorded --link layer onto the current chain; its diff ID, or `None` when
    /// there is none to reuse.
    pub(super) fn reuse_link_layer(
        &mut self,
        state: &mut Built,
        line: usize,
        instruction: &'static str,
    ) -> Result<Option<Digest>, BuildError> {
        if state.skip_cache {
            return Ok(None);
        }
        let Some(key) = &self.link_key else {
            return Ok(None);
        };
        let key = key.clone();
        let reused = self.apply_recorded_layer(state, line, instruction, &key)?;
        if reused.is_some() {
            self.say(" ---> Using cache (linked layer on the new base)\n");
        }
        Ok(reused)
    }

    /// Records the layer the --link step just made (if it made one) under its parentless key.
    pub(super) fn record_link_layer(&mut self, state: &Built, produced: bool) {
        let (Some(key), true) = (&self.link_key, produced) else {
            return;
        };
        let entry = CacheEntry {
            config: serde_json::Value::Null,
            cmd_set: false,
            layer: state.layers.last().cloned(),
            chain: None,
        };
        if let Err(e) = cache::store_entry(self.store, key, &entry) {
            tracing::warn!(error = %e, "could not record a COPY --link layer");
        }
    }
}
