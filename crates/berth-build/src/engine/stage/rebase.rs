//! A plain COPY whose layer cannot depend on the parent (see `dest_facts`) is also recorded
//! under a key of its inputs and the parent facts it does depend on; when only the layers
//! below changed (the usual edit-rebuild loop: an earlier COPY of a changed file), the
//! recorded layer is applied onto the new chain instead of copying again. The layer is the
//! one a re-run makes (timestamps aside: the copied-up ancestors' mtimes are the first run's).

use berth_oci::Digest;

use super::{Builder, Built, CopySpec};
use crate::engine::cache::{self, CacheEntry, CacheKey};
use crate::engine::dest_facts::{PathFact, dest_facts, facts_key, touches_only_dest};
use crate::engine::error::BuildError;
use crate::engine::paths::clean_relative;

/// A COPY that qualifies: the key its layer is recorded under and the destination's path.
pub(super) struct RebasePlan {
    key: CacheKey,
    pub(super) components: Vec<String>,
    pub(super) facts: Vec<PathFact>,
}

impl Builder<'_> {
    /// The plan for `spec` over the current chain, or `None` when the step's result may
    /// depend on more of the parent than the destination's ancestors.
    pub(super) fn rebase_plan(&mut self, state: &Built, spec: &CopySpec) -> Option<RebasePlan> {
        let inputs = self.rebase_inputs.take()?;
        // ADD may unpack an archive whose entries reach anywhere; heredocs expand the
        // stage's environment; a named --chown reads the parent's /etc/passwd.
        if spec.keyword != "COPY"
            || spec.link
            || spec.extract
            || !spec.inline.is_empty()
            || !spec.remote.is_empty()
            || spec.chown.is_some_and(|c| !numeric_owner(c))
        {
            return None;
        }
        let workdir = state.config.working_dir();
        let dest = if spec.dest.starts_with('/') {
            spec.dest.to_string()
        } else {
            format!("{}/{}", workdir.trim_end_matches('/'), spec.dest)
        };
        let components: Vec<String> = clean_relative(&dest)
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let layers = match &state.chain {
            Some(chain) => self.store.snapshots.layer_dirs(chain).ok()?,
            None => Vec::new(),
        };
        let facts = dest_facts(&layers, &components)?;
        let clamp = format!("{:?}", self.opts.source_date_epoch);
        let key = inputs.child(&[&workdir, &facts_key(&components, &facts), &clamp]);
        Some(RebasePlan {
            key,
            components,
            facts,
        })
    }

    /// Applies the layer recorded under `plan` onto the current chain; its diff ID, or
    /// `None` when there is none to reuse.
    pub(super) fn reuse_rebased_layer(
        &mut self,
        state: &mut Built,
        line: usize,
        plan: &RebasePlan,
    ) -> Result<Option<Digest>, BuildError> {
        if state.skip_cache {
            return Ok(None);
        }
        let reused = self.apply_recorded_layer(state, line, "COPY", &plan.key)?;
        if reused.is_some() {
            self.say(" ---> Using cache (layer made on another base)\n");
        }
        Ok(reused)
    }

    /// Records the layer the step just made, if it made one and it holds nothing but the
    /// destination's path (so the facts were all it read from the parent).
    pub(super) fn record_rebased_layer(&self, state: &Built, plan: &RebasePlan) {
        let (Some(layer), Some(chain)) = (state.layers.last(), &state.chain) else {
            return;
        };
        let Ok(dirs) = self.store.snapshots.layer_dirs(chain) else {
            return;
        };
        if !dirs
            .first()
            .is_some_and(|top| touches_only_dest(top, &plan.components))
        {
            return;
        }
        // The chain too: its snapshot directory is shared with the next parent's chain (and
        // the record keeps it from garbage collection, as the step's own record does).
        let entry = CacheEntry {
            config: serde_json::Value::Null,
            cmd_set: false,
            layer: Some(layer.clone()),
            chain: Some(chain.clone()),
        };
        if let Err(e) = cache::store_entry(self.store, &plan.key, &entry) {
            tracing::warn!(error = %e, "could not record a COPY layer for other bases");
        }
    }

    /// Applies the layer of the record under `key` onto the current chain (a cache hit of
    /// the step); its diff ID, or `None` without such a record.
    pub(super) fn apply_recorded_layer(
        &mut self,
        state: &mut Built,
        line: usize,
        instruction: &'static str,
        key: &CacheKey,
    ) -> Result<Option<Digest>, BuildError> {
        let started = std::time::Instant::now();
        let Some(entry) = cache::lookup(self.store, key) else {
            return Ok(None);
        };
        let Some(layer) = entry.layer else {
            return Ok(None);
        };
        // The recorded snapshot's directory shared by the new chain: no unpacking. The blob is
        // unpacked when there is none (a --link record) or sharing fails.
        let shared = entry.chain.and_then(|source| {
            self.store
                .snapshots
                .share_layer(&source, state.chain.as_ref())
                .inspect_err(|e| tracing::debug!(error = %e, "sharing a layer snapshot failed"))
                .ok()
        });
        let shared_ok = shared.is_some();
        let chain = match shared {
            Some(chain) => chain,
            None => {
                let Ok(blob) = self.store.content.open_blob(&layer.digest) else {
                    return Ok(None);
                };
                self.store
                    .snapshots
                    .apply_layer(state.chain.as_ref(), Some(&layer.diff_id), blob)
                    .map_err(|source| BuildError::Snapshot {
                        line,
                        instruction,
                        source,
                    })?
            }
        };
        tracing::debug!(
            line,
            instruction,
            shared = shared_ok,
            ms = started.elapsed().as_millis(),
            "build: layer reused on a new parent"
        );
        let diff_id = layer.diff_id.clone();
        let layer = self.in_build_compression(layer, line, instruction)?;
        state.layers.push(layer);
        state.chain = Some(chain);
        self.steps_cached += 1;
        self.cache_hit = true;
        Ok(Some(diff_id))
    }
}

/// `--chown=uid:gid` in numbers: resolved without reading the parent's user database.
fn numeric_owner(chown: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    chown
        .split_once(':')
        .is_some_and(|(user, group)| digits(user) && digits(group))
}
