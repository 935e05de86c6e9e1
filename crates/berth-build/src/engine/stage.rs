//! Building one stage: its base (image, `scratch` or an earlier stage), then each instruction
//! in order. Stages other stages need are built on demand, each once.

use std::collections::HashMap;

use berth_oci::Digest;
use berth_store::{PlannedLayer, Store, StoreError};
use serde_json::Value;

use super::BuildOptions;
pub(super) use named::ReadyContexts;
mod board;
mod cache_from;
mod cached;
mod copy_step;
mod images;
mod link;
mod named;
mod numbering;
mod onbuild;
mod parallel;
mod rebase;
mod recompress;
mod run_mounts;
mod run_step;
mod vertex;
mod vertex_names;

use super::cache::CacheKey;
use super::config::ImageConfig;
use super::error::BuildError;
use super::layer::encode_upper;
use super::paths::{clean_relative, scoped_resolve};
use super::users::{self, Ids, UnknownName};
use super::workspace::Workspace;
use crate::dockerignore::Matcher;
use crate::expand::{EnvList, VarLookup};
use crate::instructions::{BuildFile, Instruction, LocatedInstruction, Security};

/// A stage's result: config so far, layers and the snapshot chain they form.
#[derive(Debug, Clone)]
pub struct Built {
    pub config: ImageConfig,
    pub layers: Vec<PlannedLayer>,
    pub chain: Option<Digest>,
    /// The cache key of the state so far.
    pub cache_key: CacheKey,
    /// `--no-cache-filter` names this stage: its steps run even when cached.
    pub skip_cache: bool,
}

pub struct Builder<'a> {
    pub(super) store: &'a Store,
    pub(super) opts: &'a BuildOptions,
    pub(super) file: &'a BuildFile,
    pub(super) ignore: Option<Matcher>,
    /// The named contexts, ready to read.
    pub(super) contexts: std::sync::Arc<ReadyContexts>,
    pub(super) network: Option<&'a dyn super::RunNetwork>,
    /// What this build's builders on every thread share.
    shared: std::sync::Arc<BuildShared>,
    /// Where progress lines go (`opts.output`, held back while earlier stages print theirs).
    output: Option<super::OutputSink>,
    /// This builder builds the stages planned for prebuilding (see `build_target`).
    prebuilding: bool,
    /// The parent-independent cache key of the COPY/ADD --link step being run.
    pub(super) link_key: Option<CacheKey>,
    /// The inputs of the COPY step being run, for a layer reused on another parent.
    pub(super) rebase_inputs: Option<CacheKey>,
    /// Downloads made while computing an ADD's cache key, by line, for the step to use.
    pub(super) fetched: HashMap<usize, super::remote::Fetched>,
    /// Images pulled (or tried) during this build.
    pulled: std::collections::HashSet<String>,
    created: String,
    pub runs_executed: usize,
    pub steps_cached: usize,
    pub layers_created: usize,
    pub copies_direct: usize,
    /// Progress numbering ("Step 3/7") by place in the Dockerfile.
    numbers: numbering::StepNumbers,
    /// BuildKit-style vertex names (`[gen 2/3] RUN …`) for `opts.progress`.
    vertex_names: vertex_names::VertexNames,
    /// The log of the vertex running now (RUN output goes there too).
    active_log: Option<super::OutputSink>,
    /// Whether the step just run was taken from the cache.
    cache_hit: bool,
}

/// What the builders of one build, on any thread, share.
#[derive(Default)]
struct BuildShared {
    /// Stages built or being built.
    board: board::StageBoard,
    /// Layer blobs written but not yet synced nor visible: the build syncs and publishes
    /// them once, at its end.
    pending_blobs: std::sync::Mutex<Vec<berth_store::content::PendingBlob>>,
}

impl BuildShared {
    fn pending_blobs(&self) -> std::sync::MutexGuard<'_, Vec<berth_store::content::PendingBlob>> {
        self.pending_blobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a filesystem step's workspace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepBase {
    /// The current chain, mounted with overlayfs.
    Chain,
    /// Nothing (COPY --link, a context stage): the layer is made in an empty directory.
    Nothing,
    /// The current chain, not mounted: the step writes the upper dir itself.
    Direct,
}

/// The parts of a COPY/ADD the engine needs, from either instruction.
struct CopySpec<'a> {
    keyword: &'static str,
    sources: &'a [String],
    dest: &'a str,
    from: Option<&'a str>,
    chown: Option<&'a str>,
    chmod: Option<&'a str>,
    extract: bool,
    /// Heredoc files (`COPY <<EOF /dst`).
    inline: &'a [crate::instructions::InlineFile],
    /// `ADD` of http(s) URLs, and the `--checksum` they must match.
    remote: Vec<String>,
    checksum: Option<&'a str>,
    /// `--link`: the layer is made from an empty directory, independent of what is below.
    link: bool,
    /// `--exclude` patterns (matched below each source).
    exclude: &'a [String],
    /// COPY `--parents`.
    parents: bool,
}

impl<'a> Builder<'a> {
    pub fn new(
        store: &'a Store,
        opts: &'a BuildOptions,
        file: &'a BuildFile,
        ignore: Option<Matcher>,
        contexts: std::sync::Arc<ReadyContexts>,
        network: Option<&'a dyn super::RunNetwork>,
    ) -> Builder<'a> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let created =
            berth_store::images::time::format_rfc3339(opts.source_date_epoch.unwrap_or(now));
        Builder {
            store,
            opts,
            file,
            ignore,
            contexts,
            network,
            shared: Default::default(),
            output: opts.output.clone(),
            prebuilding: false,
            link_key: None,
            rebase_inputs: None,
            fetched: HashMap::new(),
            pulled: Default::default(),
            created,
            runs_executed: 0,
            steps_cached: 0,
            layers_created: 0,
            copies_direct: 0,
            numbers: numbering::StepNumbers::new(file, opts.target.as_deref()),
            vertex_names: vertex_names::VertexNames::new(file),
            active_log: None,
            cache_hit: false,
        }
    }

    /// Builds stage `index` (and what it needs) unless it is built or being built on another
    /// thread (then waits for it); `visiting` detects cycles.
    pub fn stage(&mut self, index: usize, visiting: &mut Vec<usize>) -> Result<Built, BuildError> {
        let shared = self.shared.clone();
        let building = match shared.board.claim(index, self.prebuilding) {
            Ok(board::Claim::Done(built)) => return Ok(built),
            Ok(board::Claim::Mine(building)) => building,
            Err(board::ClaimError::Cycle) => {
                return Err(BuildError::StageCycle {
                    line: self.file.stages[index].from_line,
                    stage: index,
                    reference: self.file.stages[index]
                        .name()
                        .unwrap_or_default()
                        .to_string(),
                });
            }
            Err(board::ClaimError::Failed) => return Err(BuildError::StageFailed { stage: index }),
        };
        let built = self.build_stage(index, visiting)?;
        building.publish(&built);
        Ok(built)
    }

    fn build_stage(
        &mut self,
        index: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<Built, BuildError> {
        let args = &self.opts.build_args;
        let unresolved = self.file.resolve_stage(index, args, &EnvList::new())?;
        let line = unresolved.from_line;
        let from = &unresolved.from;
        let alias = from
            .stage_name
            .as_deref()
            .map(|n| format!(" AS {n}"))
            .unwrap_or_default();
        let label = self.numbers.label(index, 0);
        self.say(&format!("Step {label} : FROM {}{alias}\n", from.image));
        if let Some(replaced) = self.stage_replacement(index, line)? {
            return Ok(replaced);
        }
        visiting.push(index);
        let mut state = self.base(&unresolved.from.image, index, line, visiting)?;
        self.base_vertex(index, &unresolved.from.image, &state);
        state.skip_cache = self.opts.no_cache
            || self
                .opts
                .no_cache_filter
                .iter()
                .any(|f| self.file.stage_index(f) == Some(index));
        let meta = self.file.meta_env(args)?;
        let mut build_args: Vec<(String, String)> = Vec::new();
        self.run_onbuild_triggers(index, &mut state, line, &meta, &mut build_args, visiting)?;
        let base_env = EnvList::from_pairs(state.config.env());
        let stage = self.file.resolve_stage(index, args, &base_env)?;
        for (position, step) in stage.instructions.iter().enumerate() {
            self.await_stages_read_by(&step.instruction, visiting)?;
            let label = self.numbers.label(index, position + 1);
            let vertex = self.step_vertex(index, step, false);
            self.in_vertex(vertex, |b| {
                b.step(&mut state, step, &label, &meta, &mut build_args, visiting)
            })?;
        }
        visiting.pop();
        Ok(state)
    }

    /// Writes layer blob `digest` (the hash of `data`, computed by the encoder) for the
    /// build's one sync ([`Builder::take_pending_blobs`]); not visible (and so not a cache
    /// hit) until then.
    fn write_deferred(
        &self,
        digest: &Digest,
        data: &[u8],
    ) -> Result<(), berth_store::content::ContentError> {
        if self.store.content.contains(digest) {
            return Ok(());
        }
        let mut writer = self
            .store
            .content
            .writer_verified_by_caller(digest, Some(data.len() as u64))?;
        writer.write(data)?;
        let pending = writer.commit_deferred()?;
        self.shared.pending_blobs().push(pending);
        Ok(())
    }

    /// The blobs this build wrote and has not published yet.
    pub fn take_pending_blobs(&self) -> Vec<berth_store::content::PendingBlob> {
        std::mem::take(&mut *self.shared.pending_blobs())
    }

    /// A builder for another thread of this build, building what is planned for it.
    fn prebuilder<'b>(&self, opts: &'b BuildOptions) -> Builder<'b>
    where
        'a: 'b,
    {
        let mut builder = Builder::new(
            self.store,
            opts,
            self.file,
            self.ignore.clone(),
            self.contexts.clone(),
            self.network,
        );
        builder.shared = self.shared.clone();
        builder.prebuilding = true;
        builder
    }

    /// The `created` time of this build's history entries.
    pub fn created(&self) -> &str {
        &self.created
    }

    /// Progress for whoever follows the build (nothing when no one does).
    pub(super) fn say(&self, text: &str) {
        if let Some(sink) = &self.output {
            sink(text.as_bytes());
        }
    }

    fn base(
        &mut self,
        image: &str,
        index: usize,
        line: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<Built, BuildError> {
        if image.eq_ignore_ascii_case("scratch") {
            return Ok(self.scratch_base());
        }
        let lower = image.to_lowercase();
        if let Some(earlier) = self.file.stages[..index]
            .iter()
            .position(|s| s.name() == Some(lower.as_str()))
        {
            let mut built = self.stage(earlier, visiting)?;
            built.config = ImageConfig::from_base(Some(built.config.doc), &self.created);
            return Ok(built);
        }
        // After the stages, before the images (BuildKit's order).
        if let Some(context) = self.contexts.get(image).cloned() {
            return self.context_base(&context, image, line);
        }
        self.image_base(image, line)
    }

    fn step_uncached(
        &mut self,
        state: &mut Built,
        step: &LocatedInstruction,
        meta: &EnvList,
        build_args: &mut Vec<(String, String)>,
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        let line = step.start_line;
        let config = &mut state.config;
        let text = match &step.instruction {
            Instruction::Env(pairs) => config.env_instruction(pairs),
            Instruction::Arg(defs) => {
                let mut text = String::from("ARG");
                for def in defs {
                    let value = self
                        .opts
                        .build_args
                        .get(&def.name)
                        .cloned()
                        .or_else(|| def.default.clone())
                        .or_else(|| meta.lookup(&def.name).map(str::to_string));
                    build_args.retain(|(k, _)| *k != def.name);
                    // History records the declaration, not the value given for it.
                    match &def.default {
                        Some(default) => text.push_str(&format!(" {}={default}", def.name)),
                        None => text.push_str(&format!(" {}", def.name)),
                    }
                    if let Some(v) = value {
                        build_args.push((def.name.clone(), v));
                    }
                }
                text
            }
            Instruction::Label(pairs) => config.labels(pairs),
            Instruction::Expose(ports) => {
                config.expose(ports).map_err(|value| BuildError::BadFlag {
                    line,
                    instruction: "EXPOSE",
                    flag: "port",
                    value,
                    reason: "not a port or port range",
                })?
            }
            Instruction::Volume(paths) => config.volumes(paths),
            Instruction::User(user) => {
                config.set_user(user);
                format!("USER {user}")
            }
            Instruction::Cmd(command) => config.cmd(command),
            Instruction::Entrypoint(command) => config.entrypoint(command),
            Instruction::StopSignal(signal) => {
                config.stop_signal(signal);
                format!("STOPSIGNAL {signal}")
            }
            Instruction::Healthcheck(check) => config.healthcheck(check),
            Instruction::Shell(shell) => config.shell_instruction(shell),
            Instruction::Onbuild(trigger) => {
                // BuildKit records the trigger in the config only: no history entry.
                config.onbuild(&trigger.expression);
                return Ok(());
            }
            Instruction::Maintainer(name) => {
                config.doc["author"] = Value::String(name.clone());
                format!("MAINTAINER {name}")
            }
            Instruction::Workdir(dir) => {
                let dir = config.workdir(dir);
                let user = config.user();
                let layer = self.fs_step(state, line, "WORKDIR", StepBase::Chain, |ws| {
                    let rootfs = ws.rootfs();
                    let ids =
                        users::resolve(&rootfs, &user, false).unwrap_or(Ids { uid: 0, gid: 0 });
                    mkdir_owned(&rootfs, &dir, ids).map_err(|source| BuildError::Io {
                        line,
                        instruction: "WORKDIR",
                        path: dir.clone().into(),
                        source,
                    })
                })?;
                state
                    .config
                    .history(&self.created, &format!("WORKDIR {dir}"), layer.as_ref());
                return Ok(());
            }
            Instruction::Copy(c) => {
                let spec = CopySpec {
                    keyword: "COPY",
                    sources: &c.files.sources,
                    dest: &c.files.dest,
                    from: c.from.as_deref(),
                    chown: c.chown.as_deref(),
                    chmod: c.chmod.as_deref(),
                    extract: false,
                    inline: &c.files.inline,
                    remote: Vec::new(),
                    checksum: None,
                    link: c.link,
                    exclude: &c.exclude,
                    parents: c.parents,
                };
                return self.copy(state, line, &spec, build_args, visiting);
            }
            Instruction::Add(a) => {
                if a.files.sources.iter().any(|s| is_git(s)) {
                    return Err(BuildError::Unsupported {
                        line,
                        feature: "ADD from a git repository",
                    });
                }
                let (remote, local): (Vec<String>, Vec<String>) = a
                    .files
                    .sources
                    .iter()
                    .cloned()
                    .partition(|s| super::remote::is_http(s));
                if let Some(sum) = &a.checksum
                    && !local.is_empty()
                {
                    return Err(BuildError::BadFlag {
                        line,
                        instruction: "ADD",
                        flag: "checksum",
                        value: sum.clone(),
                        reason: "checksum can't be specified for non-HTTP(S) sources",
                    });
                }
                let spec = CopySpec {
                    keyword: "ADD",
                    sources: &local,
                    dest: &a.files.dest,
                    from: None,
                    chown: a.chown.as_deref(),
                    chmod: a.chmod.as_deref(),
                    extract: true,
                    inline: &a.files.inline,
                    remote,
                    checksum: a.checksum.as_deref(),
                    link: a.link,
                    exclude: &a.exclude,
                    parents: false,
                };
                return self.copy(state, line, &spec, build_args, visiting);
            }
            Instruction::Run(run) => {
                if run.security == Some(Security::Insecure) {
                    return Err(BuildError::Unsupported {
                        line,
                        feature: "RUN --security=insecure",
                    });
                }
                return self.run(state, line, step, run.network, build_args, visiting);
            }
            Instruction::From(_) => unreachable!("FROM starts a stage and is never a step"),
        };
        state.config.history(&self.created, &text, None);
        Ok(())
    }

    /// Runs `change` on a fresh workspace over the current chain (see [`StepBase`]); the upper dir becomes a layer (ingested, unpacked onto the
    /// current chain, appended) unless the step changed nothing.
    fn fs_step(
        &mut self,
        state: &mut Built,
        line: usize,
        instruction: &'static str,
        base: StepBase,
        change: impl FnOnce(&Workspace) -> Result<(), BuildError>,
    ) -> Result<Option<Digest>, BuildError> {
        let snapshot_err = |source| BuildError::Snapshot {
            line,
            instruction,
            source,
        };
        let parent = match base {
            StepBase::Nothing => None,
            StepBase::Chain | StepBase::Direct => state.chain.as_ref(),
        };
        let started = std::time::Instant::now();
        let label = instruction.to_lowercase();
        let mut ws = match base {
            StepBase::Direct => Workspace::direct(self.store, parent, &label),
            StepBase::Chain | StepBase::Nothing => Workspace::open(self.store, parent, &label),
        }
        .map_err(snapshot_err)?;
        let opened = started.elapsed();
        change(&ws)?;
        let upper = ws.finish().to_path_buf();
        let changed = started.elapsed();
        let clamp = self.opts.source_date_epoch.map(|e| e.max(0) as u64);
        let io_err = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| BuildError::Io {
                line,
                instruction,
                path,
                source,
            }
        };
        let blob = encode_upper(&upper, clamp, self.opts.compression).map_err(io_err(&upper))?;
        let encoded = started.elapsed();
        let Some(blob) = blob else {
            return Ok(None);
        };
        let store_err = |source: StoreError| BuildError::Store {
            line,
            instruction,
            source: Box::new(source),
        };
        self.write_deferred(&blob.digest, &blob.data)
            .map_err(|e| store_err(e.into()))?;
        let digest = blob.digest.clone();
        let blob_written = started.elapsed();
        let chain = if clamp.is_none() {
            // The upper dir is this layer's content: keep it as the snapshot.
            for path in &blob.left_out {
                std::fs::remove_file(path).map_err(io_err(path))?;
            }
            ws.commit(state.chain.as_ref(), &blob.diff_id, blob.content_size)
                .map_err(snapshot_err)?
        } else {
            // Clamped mtimes differ from the upper dir's: unpack the layer as encoded.
            drop(ws);
            self.store
                .snapshots
                .apply_layer(state.chain.as_ref(), Some(&blob.diff_id), &blob.data[..])
                .map_err(snapshot_err)?
        };
        tracing::debug!(
            line,
            instruction,
            open_ms = opened.as_millis(),
            change_ms = (changed - opened).as_millis(),
            encode_ms = (encoded - changed).as_millis(),
            commit_ms = (started.elapsed() - encoded).as_millis(),
            blob_ms = (blob_written - encoded).as_millis(),
            bytes = blob.data.len(),
            "build: layer step"
        );
        state.layers.push(PlannedLayer {
            digest,
            media_type: blob.media_type.to_owned(),
            size: blob.data.len() as u64,
            diff_id: blob.diff_id.clone(),
        });
        state.chain = Some(chain);
        self.layers_created += 1;
        Ok(Some(blob.diff_id))
    }
}

fn is_git(source: &str) -> bool {
    ["git@", "git://"].iter().any(|p| source.starts_with(p))
        || (super::remote::is_http(source)
            && source
                .split(['?', '#'])
                .next()
                .is_some_and(|s| s.ends_with(".git")))
}

/// `mkdir -p` inside `rootfs`; directories it creates are owned by `ids` (BuildKit creates
/// WORKDIR as the current USER).
fn mkdir_owned(rootfs: &std::path::Path, dir: &str, ids: Ids) -> std::io::Result<()> {
    let mut current = String::new();
    for part in clean_relative(dir).split('/').filter(|p| !p.is_empty()) {
        current = format!("{current}/{part}");
        let path = scoped_resolve(rootfs, &clean_relative(&current), true);
        if path.is_dir() {
            continue;
        }
        std::fs::create_dir(&path)?;
        std::os::unix::fs::lchown(&path, Some(ids.uid), Some(ids.gid))?;
    }
    Ok(())
}

fn unknown(line: usize, instruction: &'static str, e: UnknownName) -> BuildError {
    BuildError::UnknownId {
        line,
        instruction,
        what: e.what,
        name: e.name,
        file: e.file,
    }
}
