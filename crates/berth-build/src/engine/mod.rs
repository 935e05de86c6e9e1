//! The build engine: a Dockerfile and its context become an image in the store.
//!
//! Only the stages the target needs are built (FROM and `COPY --from` edges, depth first).
//! Metadata instructions change the image config; COPY/ADD/RUN/WORKDIR run on an overlay
//! snapshot of the current state and the snapshot's upper dir becomes the step's layer.

mod cache;
mod compression;
mod config;
mod copy;
mod copy_link;
mod dest_facts;
mod error;
mod export;
mod go_format;
mod heredocs;
mod layer;
pub mod named_context;
mod network;
mod paths;
pub mod progress;
mod prune;
mod pull;
mod remote;
mod run;
mod sources;
mod stage;
mod stubs;
mod sys;
mod users;
mod workspace;

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_oci::Reference;
use berth_store::Store;
use berth_store::images::ImageRecord;

pub use compression::{Compression, UnknownCompression};
pub use config::DEFAULT_PATH;
pub use error::BuildError;
pub use layer::{EncodedLayer, LayerBlob, diff_upper, encode_upper};
pub use named_context::{NamedContext, NamedContextError, NamedContexts};
pub use network::{RunNetwork, RunNetworkError, RunNetworkSetup, SANDBOX_HOSTNAME};
pub use progress::{ProgressEvent, ProgressKind, ProgressSink};
pub use prune::{CacheUsage, PruneError, PruneOptions, PruneReport, cache_usage, prune};
pub use pull::BasePuller;
pub use run::container_prefix;

use crate::dockerignore::{Matcher, pick_ignore_file};
use crate::instructions::parse_build_file;

/// What to build.
#[derive(Clone)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile; relative paths are taken from the context.
    pub dockerfile: PathBuf,
    pub build_args: BTreeMap<String, String>,
    /// Stage name or index; the last stage when `None`.
    pub target: Option<String>,
    pub tags: Vec<String>,
    pub no_cache: bool,
    /// `--no-cache-filter`: stages (names or indexes) whose steps run even when cached; the
    /// other stages still use the cache.
    pub no_cache_filter: Vec<String>,
    /// `--label`: set on the final image after the target stage (a `LABEL` history entry, as
    /// Docker's classic builder records it).
    pub labels: BTreeMap<String, String>,
    /// `--pull`: fetch every base image from its registry even when the store has it.
    pub pull: bool,
    /// Fetches base images (missing ones, or all with `pull`); without one the store must
    /// hold them.
    pub puller: Option<std::sync::Arc<dyn BasePuller>>,
    /// `docker build --network`: `default` (the provider's `bridge`, else the host's),
    /// `host`, `none` or a network name; `RUN --network` overrides it per step.
    pub network_mode: String,
    /// `--secret id=…,src=…`: files `RUN --mount=type=secret` may read (never cached, never
    /// in a layer).
    pub secrets: BTreeMap<String, PathBuf>,
    /// `--build-context NAME=VALUE`: directories and images FROM, `COPY --from` and
    /// `RUN --mount from=` reach by name (a context named like a stage replaces it).
    pub named_contexts: NamedContexts,
    /// Where RUN steps keep container state (like `runc --root`).
    pub runtime_root: PathBuf,
    /// SOURCE_DATE_EPOCH: fixes `created` times and clamps layer mtimes, for reproducible
    /// images (BuildKit's rewrite-timestamp).
    pub source_date_epoch: Option<i64>,
    /// `--compression`: how the layers this build makes are compressed (also the ones taken
    /// from the cache; base image layers stay as they are, like BuildKit without
    /// force-compression).
    pub compression: Compression,
    /// Print RUN output as it arrives (to `output`, else to stderr).
    pub echo_output: bool,
    /// Where progress goes ("Step 2/4 : RUN …", " ---> Using cache", RUN output): the daemon
    /// streams it to the client. `None`: RUN output to stderr, no step lines.
    pub output: Option<OutputSink>,
    /// Structured progress (BuildKit's vertices: started, cached, log, status, done, error),
    /// next to `output`. With it, RUN output goes to the step's vertex log too.
    pub progress: Option<ProgressSink>,
}

/// Receives build progress as it happens.
pub type OutputSink = std::sync::Arc<dyn Fn(&[u8]) + Send + Sync>;

impl BuildOptions {
    /// Defaults: `<context>/Dockerfile`, last stage, runtime state under /run/berth/build.
    pub fn new(context: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            context: context.into(),
            dockerfile: PathBuf::from("Dockerfile"),
            build_args: BTreeMap::new(),
            target: None,
            tags: Vec::new(),
            no_cache: false,
            no_cache_filter: Vec::new(),
            labels: BTreeMap::new(),
            pull: false,
            puller: None,
            network_mode: "default".to_string(),
            secrets: BTreeMap::new(),
            named_contexts: NamedContexts::new(),
            runtime_root: PathBuf::from("/run/berth/build"),
            source_date_epoch: None,
            compression: Compression::Gzip,
            echo_output: true,
            output: None,
            progress: None,
        }
    }
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions")
            .field("context", &self.context)
            .field("dockerfile", &self.dockerfile)
            .field("target", &self.target)
            .field("named_contexts", &self.named_contexts)
            .field("tags", &self.tags)
            .field("no_cache", &self.no_cache)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// The committed image and what the build did.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub image: ImageRecord,
    /// RUN steps executed.
    pub runs_executed: usize,
    /// Steps that produced a layer.
    pub layers_created: usize,
    /// Filesystem steps (RUN, COPY, ADD, WORKDIR) taken from the build cache.
    pub steps_cached: usize,
    /// COPY steps that wrote their layer directly, without an overlay mount.
    pub copies_direct: usize,
}

/// Builds the target stage and registers (and tags) the image in `store`; RUN steps get the
/// host's network unless they ask for none.
pub fn build(store: &Store, opts: &BuildOptions) -> Result<BuildResult, BuildError> {
    build_with(store, opts, None)
}

/// [`build`] with a provider of networks for RUN steps (berthd's bridge).
pub fn build_with(
    store: &Store,
    opts: &BuildOptions,
    network: Option<&dyn RunNetwork>,
) -> Result<BuildResult, BuildError> {
    let dockerfile_path = opts.context.join(&opts.dockerfile);
    let short_name = opts
        .dockerfile
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let definition = format!("[internal] load build definition from {short_name}");
    let source = export::internal(opts.progress.as_ref(), &definition, |vertex| {
        let source = std::fs::read(&dockerfile_path).map_err(|source| BuildError::Read {
            path: dockerfile_path.clone(),
            source,
        })?;
        export::transferred(vertex, "dockerfile", source.len());
        Ok(source)
    })?;
    // Errors name the Dockerfile as the client gave it: `Dockerfile:7: …`.
    let file_name = opts.dockerfile.display().to_string();
    let file = parse_build_file(&crate::parser::parse_named(&file_name, &source)?)?;
    if file.stages.is_empty() {
        return Err(BuildError::NoStages {
            file: dockerfile_path.display().to_string(),
        });
    }
    let target = match &opts.target {
        Some(name) => file
            .stage_index(name)
            .ok_or_else(|| BuildError::NoSuchTarget {
                target: name.clone(),
            })?,
        None => file.stages.len() - 1,
    };
    let tags = opts
        .tags
        .iter()
        .map(|t| {
            Reference::parse_normalized(t).map_err(|source| BuildError::Tag {
                tag: t.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ignore = export::internal(
        opts.progress.as_ref(),
        "[internal] load .dockerignore",
        |v| load_ignore(opts, &dockerfile_path, v),
    )?;
    let contexts = std::sync::Arc::new(stage::ReadyContexts::load(&opts.named_contexts)?);
    let _lease = store.lease();
    // Keeps `builder prune` from removing cache mounts under a running RUN.
    let _cache_lock = prune::CacheLock::shared(store).map_err(|e| BuildError::CacheLock {
        source: Box::new(e),
    })?;
    let mut builder = stage::Builder::new(store, opts, &file, ignore, contexts, network);
    builder.announce_meta_args();
    let built = builder.build_target(target);
    // One sync for every layer the build made, failed or not: what was built is cache.
    let synced = store
        .sync_pending(builder.take_pending_blobs())
        .map_err(|source| BuildError::Commit {
            source: Box::new(source),
        });
    let built = built.map_err(|e| e.in_file(&file_name))?;
    synced?;
    let image = export::export_image(store, opts, builder.created(), built, tags)?;
    Ok(BuildResult {
        image,
        runs_executed: builder.runs_executed,
        layers_created: builder.layers_created,
        steps_cached: builder.steps_cached,
        copies_direct: builder.copies_direct,
    })
}

fn load_ignore(
    opts: &BuildOptions,
    dockerfile: &std::path::Path,
    vertex: Option<&progress::Vertex>,
) -> Result<Option<Matcher>, BuildError> {
    let Some(path) = pick_ignore_file(&opts.context, dockerfile, |p| p.is_file()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Read {
        path: path.clone(),
        source,
    })?;
    export::transferred(vertex, "context", text.len());
    Matcher::from_ignore_file(&text)
        .map(Some)
        .map_err(|source| BuildError::Ignore { path, source })
}
