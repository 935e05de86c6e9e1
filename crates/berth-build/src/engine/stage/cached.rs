//! The cache around each step. A hit on a filesystem step (RUN, COPY, ADD, WORKDIR) skips it;
//! a hit on a metadata step still applies it (cheap; ARG changes the builder's own state) and
//! then takes the cached config, so a fully cached rebuild gives the same image ID.

use super::{Builder, Built};
use crate::engine::cache::{self, CacheEntry, CacheKey, SourceFilter};
use crate::engine::error::BuildError;
use crate::engine::remote;
use crate::engine::sources;
use crate::expand::EnvList;
use crate::instructions::{Add, Instruction, LocatedInstruction, Mount};

impl Builder<'_> {
    /// One Dockerfile step: its "Step N/M" line (`label` is "N/M"), then
    /// [`Builder::step_cached`].
    pub(super) fn step(
        &mut self,
        state: &mut Built,
        step: &LocatedInstruction,
        label: &str,
        meta: &EnvList,
        build_args: &mut Vec<(String, String)>,
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        self.say(&format!("Step {label} : {}\n", step.source));
        self.step_cached(state, step, meta, build_args, visiting)
    }

    /// Runs `step`, or takes its result from the cache.
    pub(super) fn step_cached(
        &mut self,
        state: &mut Built,
        step: &LocatedInstruction,
        meta: &EnvList,
        build_args: &mut Vec<(String, String)>,
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        let touches_fs = matches!(
            step.instruction,
            Instruction::Run(_)
                | Instruction::Copy(_)
                | Instruction::Add(_)
                | Instruction::Workdir(_)
        );
        let key = self.step_key(state, step, build_args, visiting)?;
        let hit = if state.skip_cache {
            None
        } else {
            cache::lookup(self.store, &key)
        };
        self.cache_hit = hit.is_some() && touches_fs;
        if let Some(entry) = hit {
            if !touches_fs {
                // Still applied for its effect on the builder (ARG values); the cached config
                // then replaces the fresh one so history times match the first build.
                self.step_uncached(state, step, meta, build_args, visiting)?;
            } else {
                if let Some(layer) = entry.layer {
                    let keyword = step.instruction.keyword();
                    let layer = self.in_build_compression(layer, step.start_line, keyword)?;
                    state.layers.push(layer);
                }
                state.chain = entry.chain;
                self.steps_cached += 1;
                self.say(" ---> Using cache\n");
            }
            state.config.doc = entry.config;
            state.config.cmd_set = entry.cmd_set;
            state.cache_key = key;
            return Ok(());
        }
        let layers_before = state.layers.len();
        self.step_uncached(state, step, meta, build_args, visiting)?;
        // A step re-run under --no-cache-filter may give a different result than the record
        // under its key: it is recorded under a key of its result instead, so what reads it
        // (COPY --from, a stage FROM it) misses when the content changed, and a later build
        // without the filter still finds the older, consistent chain of records.
        let key = if state.skip_cache && touches_fs && !self.opts.no_cache {
            let chain = state.chain.as_ref().map(|c| c.to_string());
            key.child(&["rerun", chain.as_deref().unwrap_or("scratch")])
        } else {
            key
        };
        let entry = CacheEntry {
            config: state.config.doc.clone(),
            cmd_set: state.config.cmd_set,
            layer: state.layers[layers_before..].last().cloned(),
            chain: state.chain.clone(),
        };
        if let Err(e) = cache::store_entry(self.store, &key, &entry) {
            tracing::warn!(line = step.start_line, error = %e, "could not record a build cache entry");
        }
        state.cache_key = key;
        Ok(())
    }

    /// Inputs: parent key, the expanded instruction, the build args in scope and, for
    /// COPY/ADD, what the sources hold (context files, or the source stage's key / image ID).
    fn step_key(
        &mut self,
        state: &Built,
        step: &LocatedInstruction,
        build_args: &[(String, String)],
        visiting: &mut Vec<usize>,
    ) -> Result<CacheKey, BuildError> {
        let instruction = format!("{:?}", step.instruction);
        // Build args reach RUN's environment (and so its key); ARG steps themselves only
        // record the declaration, so a different value invalidates no COPY before a RUN.
        // So do heredoc bodies COPY/ADD expand.
        let expands_inline = match &step.instruction {
            Instruction::Copy(c) => c.files.inline.iter().any(|f| f.expand),
            Instruction::Add(a) => a.files.inline.iter().any(|f| f.expand),
            _ => false,
        };
        let args: Vec<String> = match &step.instruction {
            Instruction::Run(_) => build_args.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            _ if expands_inline => build_args.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            _ => Vec::new(),
        };
        let args = args.join("\0");
        if let Instruction::Run(run) = &step.instruction {
            let mounts = self.bind_mount_inputs(step.start_line, &run.mounts, visiting)?;
            return Ok(state.cache_key.child(&[&instruction, &args, &mounts]));
        }
        let remote = match &step.instruction {
            Instruction::Add(a) => self.remote_inputs(step.start_line, a)?,
            _ => String::new(),
        };
        let local: Vec<String>;
        let (exclude, parents) = match &step.instruction {
            Instruction::Copy(c) => (c.exclude.as_slice(), c.parents),
            Instruction::Add(a) => (a.exclude.as_slice(), false),
            _ => (&[][..], false),
        };
        // A bad pattern fails the step itself, with its line.
        let exclude = sources::exclude_matcher(exclude).ok().flatten();
        let (sources, from) = match &step.instruction {
            Instruction::Copy(c) => (Some(&c.files.sources), c.from.as_deref()),
            Instruction::Add(a) => {
                local = a
                    .files
                    .sources
                    .iter()
                    .filter(|s| !remote::is_http(s))
                    .cloned()
                    .collect();
                (Some(&local), None)
            }
            _ => (None, None),
        };
        let content = match (sources, from) {
            (None, _) => String::new(),
            (Some(sources), Some(from)) => {
                let filter = SourceFilter {
                    parents,
                    exclude: exclude.as_ref(),
                };
                self.identity_of_from(from, sources, filter, step.start_line, visiting)?
            }
            (Some(sources), None) => {
                let ignore = self.ignore.clone();
                let filter = SourceFilter {
                    parents,
                    exclude: exclude.as_ref(),
                };
                cache::sources_digest(&self.opts.context, sources, ignore.as_ref(), filter)
                    // A missing source fails the step itself with a clear error.
                    .unwrap_or_else(|e| format!("unreadable:{e}"))
            }
        };
        let parts = [instruction.as_str(), &args, &content, &remote];
        // COPY/ADD --link: the layer depends on the inputs and WORKDIR only, not on the
        // layers below, so it is also recorded under a key without the parent.
        let link = match &step.instruction {
            Instruction::Copy(c) => c.link,
            Instruction::Add(a) => a.link,
            _ => false,
        };
        self.link_key = link.then(|| {
            let workdir = state.config.working_dir();
            CacheKey::base("link").child(&[&parts[..], &[workdir.as_str()]].concat())
        });
        // A plain COPY: also keyed by its inputs alone, for `rebase_plan` to add the few
        // parent facts its layer depends on.
        let plain_copy = matches!(&step.instruction, Instruction::Copy(c) if !c.link);
        self.rebase_inputs = plain_copy.then(|| CacheKey::base("copy-rebase").child(&parts));
        Ok(state.cache_key.child(&parts))
    }

    /// What an ADD's URLs hold: the `--checksum` when given (no download on a cache hit),
    /// else the downloaded content's digests (the files are kept for the step).
    fn remote_inputs(&mut self, line: usize, add: &Add) -> Result<String, BuildError> {
        let urls: Vec<String> = add
            .files
            .sources
            .iter()
            .filter(|s| remote::is_http(s))
            .cloned()
            .collect();
        if urls.is_empty() {
            return Ok(String::new());
        }
        if let Some(sum) = &add.checksum {
            return Ok(format!("checksum:{sum}"));
        }
        let fetched = self.fetch(line, &urls, None, add.files.dest.ends_with('/'))?;
        let digests = fetched.digests.join(",");
        self.fetched.insert(line, fetched);
        Ok(digests)
    }

    /// What `RUN --mount` reads: a bind mount's context files (hashed like COPY's, also a
    /// directory context's) or source stage's key / image ID, and what seeds a `from=` cache
    /// mount. Other cache, tmpfs and secret mounts are not inputs (as in BuildKit).
    fn bind_mount_inputs(
        &mut self,
        line: usize,
        mounts: &[Mount],
        visiting: &mut Vec<usize>,
    ) -> Result<String, BuildError> {
        let mut inputs = Vec::new();
        for mount in mounts {
            if let Mount::Cache {
                from: Some(from),
                source,
                ..
            } = mount
            {
                let seed = self.cache_from_identity(from, source.as_deref(), line, visiting)?;
                inputs.push(format!("cache-from:{seed}"));
                continue;
            }
            let Mount::Bind { source, from, .. } = mount else {
                continue;
            };
            let source = source.clone().unwrap_or_else(|| ".".to_string());
            inputs.push(match from {
                Some(from) => {
                    self.identity_of_from(from, &[source], SourceFilter::default(), line, visiting)?
                }
                None => {
                    let ignore = self.ignore.clone();
                    let filter = SourceFilter::default();
                    cache::sources_digest(&self.opts.context, &[source], ignore.as_ref(), filter)
                        .unwrap_or_else(|e| format!("unreadable:{e}"))
                }
            });
        }
        Ok(inputs.join("\0"))
    }
}
