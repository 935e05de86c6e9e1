//! `POST /build`: a context tar (plain, gzip or zstd) is unpacked into a private directory and
//! built by `berth-build` into the store; progress goes to the caller's sink.

#[path = "build_contexts.rs"]
mod contexts;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use berth_build::engine::named_context;
pub use berth_build::engine::{
    BasePuller, CacheUsage, Compression, OutputSink, ProgressEvent, ProgressKind, ProgressSink,
    PruneError, PruneOptions, PruneReport, SANDBOX_HOSTNAME,
};
use berth_build::engine::{BuildOptions, RunNetwork, RunNetworkError, RunNetworkSetup};
use berth_store::images::ImageRecord;
use bollard_stubs::models::{ContainerConfig, HostConfig};

use crate::Engine;
#[path = "build_transfer.rs"]
mod build_transfer;
use crate::error::{ErrorKind, HasKind};
use crate::network::{AttachRequest, NetworkService};

#[derive(Debug, thiserror::Error)]
pub enum BuildRequestError {
    #[error("build context: {0}")]
    Context(String),
    #[error("{0}")]
    Build(#[from] berth_build::engine::BuildError),
    #[error(transparent)]
    NamedContext(#[from] named_context::NamedContextError),
    #[error("build directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl HasKind for BuildRequestError {
    fn kind(&self) -> ErrorKind {
        match self {
            BuildRequestError::Context(_)
            | BuildRequestError::Build(_)
            | BuildRequestError::NamedContext(_) => ErrorKind::InvalidArgument,
            BuildRequestError::Io { .. } => ErrorKind::System,
        }
    }
}

/// What `docker build` sends besides the context.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// Path of the Dockerfile inside the context ("Dockerfile" when empty).
    pub dockerfile: String,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// `docker build --network` (`networkmode`): `default`, `host`, `none` or a network.
    pub network_mode: Option<String>,
    /// `--label`: set on the final image.
    pub labels: BTreeMap<String, String>,
    /// `--pull`: fetch every base image again from its registry.
    pub pull: bool,
    /// `--no-cache-filter`: stages (names or indexes) whose steps run again.
    pub no_cache_filter: Vec<String>,
    /// `--compression`: how new layers are compressed (gzip by default).
    pub compression: Compression,
    /// `--build-context` (Berth's `buildcontexts`): named contexts by normalised name.
    pub named_contexts: BTreeMap<String, named_context::WireContext>,
}

/// RUN steps join networks the way containers do: each step is a sandbox of the network
/// service for as long as it runs (a daemon restart tears down what a crash left).
struct StepNetworks<'e>(&'e NetworkService);

impl RunNetwork for StepNetworks<'_> {
    fn attach(&self, step_id: &str, network: &str) -> Result<RunNetworkSetup, RunNetworkError> {
        let host = HostConfig {
            network_mode: Some(network.to_string()),
            ..HostConfig::default()
        };
        let config = ContainerConfig::default();
        let name = format!("build-{}", &step_id[..step_id.len().min(12)]);
        let attachment = self.0.attach(&AttachRequest {
            id: step_id,
            name: &name,
            hostname: SANDBOX_HOSTNAME,
            config: &config,
            host: &host,
            endpoints: None,
            joined_netns: None,
        })?;
        Ok(RunNetworkSetup {
            netns: attachment.netns_path,
            hosts: attachment.hosts,
            resolv_conf: attachment.resolv_conf,
        })
    }

    fn detach(&self, step_id: &str) -> Result<(), RunNetworkError> {
        Ok(self.0.detach(step_id)?)
    }
}

/// Unpacks `context` and builds it; the unpacked context is removed afterwards. Base images
/// the store lacks (all of them with `pull`) come through `puller`.
pub fn build(
    engine: &Engine,
    request: &BuildRequest,
    context: impl Read,
    output: OutputSink,
    puller: Option<std::sync::Arc<dyn BasePuller>>,
) -> Result<ImageRecord, BuildRequestError> {
    build_with_progress(engine, request, context, output, None, puller)
}

/// [`build`] that also reports BuildKit-style progress (see `berth_build::engine::progress`),
/// starting with the context's transfer (`[internal] load build context`).
pub fn build_with_progress(
    engine: &Engine,
    request: &BuildRequest,
    context: impl Read,
    output: OutputSink,
    progress: Option<ProgressSink>,
    puller: Option<std::sync::Arc<dyn BasePuller>>,
) -> Result<ImageRecord, BuildRequestError> {
    let scratch = engine.paths.data_root.join("tmp");
    std::fs::create_dir_all(&scratch).map_err(|source| BuildRequestError::Io {
        path: scratch.clone(),
        source,
    })?;
    let dir = tempfile_in(&scratch)?;
    let bundled = tempfile_in(&scratch)?;
    let unpacked = build_transfer::unpack_reported(progress.as_ref(), context, dir.path(), unpack);
    let result = unpacked.and_then(|()| {
        contexts::take_bundled(dir.path(), bundled.path()).map_err(|source| {
            BuildRequestError::Io {
                path: dir.path().join(named_context::BUNDLED_DIR),
                source,
            }
        })?;
        let mut opts = BuildOptions::new(dir.path());
        opts.named_contexts = contexts::resolve(&request.named_contexts, bundled.path())?;
        if !request.dockerfile.is_empty() {
            opts.dockerfile = PathBuf::from(&request.dockerfile);
        }
        opts.tags = request.tags.clone();
        opts.build_args = request.build_args.clone();
        opts.target = request.target.clone();
        opts.no_cache = request.no_cache;
        opts.labels = request.labels.clone();
        opts.pull = request.pull;
        opts.no_cache_filter = request.no_cache_filter.clone();
        opts.compression = request.compression;
        opts.puller = puller;
        if let Some(mode) = request.network_mode.as_ref().filter(|m| !m.is_empty()) {
            opts.network_mode = mode.clone();
        }
        opts.runtime_root = engine.paths.exec_root.join("build");
        opts.output = Some(output);
        opts.progress = progress;
        let networks = StepNetworks(&engine.network);
        Ok(berth_build::engine::build_with(&engine.store, &opts, Some(&networks))?.image)
    });
    drop(dir);
    drop(bundled);
    result
}

/// `docker builder prune`: step cache and cache mounts.
pub fn prune(engine: &Engine, opts: &PruneOptions) -> Result<PruneReport, PruneError> {
    let report = berth_build::engine::prune(&engine.store, opts)?;
    engine
        .events
        .publish_prune(crate::events::Pruned::BuildCache, report.space_reclaimed);
    Ok(report)
}

/// `GET /system/df`'s build cache: the step records that hold a layer, and cache mounts.
pub fn cache_usage(engine: &Engine) -> Result<Vec<CacheUsage>, PruneError> {
    berth_build::engine::cache_usage(&engine.store)
}

impl HasKind for PruneError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::System
    }
}

fn tempfile_in(dir: &Path) -> Result<TempDir, BuildRequestError> {
    for attempt in 0..100u32 {
        let path = dir.join(format!("build-{}-{attempt}", std::process::id() ^ nanos()));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(TempDir(path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(BuildRequestError::Io { path, source }),
        }
    }
    Err(BuildRequestError::Io {
        path: dir.to_path_buf(),
        source: std::io::Error::other("no free name for a build directory"),
    })
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// Removed (recursively) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %e, "removing a build context");
        }
    }
}

/// Unpacks the context tar; `tar`'s `unpack_in` refuses entries that would land outside `dir`
/// (`..`, absolute paths, paths through symlinks that point out).
fn unpack(context: impl Read, dir: &Path) -> Result<(), BuildRequestError> {
    let bad = |what: String| BuildRequestError::Context(what);
    let (_, reader) = berth_store::layer::decompressed(context).map_err(|e| bad(e.to_string()))?;
    let mut archive = tar::Archive::new(EndOfArchive::new(reader));
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("reading the tar: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let inside = entry
            .unpack_in(dir)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if !inside {
            return Err(bad(format!("{name}: the path leaves the context")));
        }
    }
    Ok(())
}

/// docker's CLI sends a context with an outside Dockerfile (`-f ../x`, `-f -`) without the
/// last entry's padding or the end-of-archive blocks (moby's daemon tolerates that): after the
/// input ends, this supplies the zeros up to the next record and the two empty blocks.
struct EndOfArchive<R> {
    inner: R,
    read: u64,
    /// Zeros still to give once `inner` is exhausted (`None` until then).
    trailer: Option<u64>,
}

impl<R: Read> EndOfArchive<R> {
    fn new(inner: R) -> Self {
        EndOfArchive {
            inner,
            read: 0,
            trailer: None,
        }
    }
}

impl<R: Read> Read for EndOfArchive<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.trailer.is_none() {
            let n = self.inner.read(buf)?;
            if n > 0 || buf.is_empty() {
                self.read += n as u64;
                return Ok(n);
            }
            self.trailer = Some((512 - self.read % 512) % 512 + 1024);
        }
        let left = self.trailer.unwrap_or(0);
        let n = (buf.len() as u64).min(left) as usize;
        buf[..n].fill(0);
        self.trailer = Some(left - n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn unpacks_a_context_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_with(&[("Dockerfile", b"FROM scratch\n"), ("a/b.txt", b"x")]);
        unpack(&tar[..], dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/b.txt")).unwrap(), b"x");

        let mut raw = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        // Written straight into the header: `append_data` itself refuses `..`.
        header.as_gnu_mut().unwrap().name[..6].copy_from_slice(b"../esc");
        header.set_cksum();
        raw.append(&header, &b"x"[..]).unwrap();
        let evil = raw.into_inner().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        let err = unpack(&evil[..], &inner);
        assert!(
            err.is_err(),
            "an entry leaving the context must fail the build"
        );
        assert!(!dir.path().join("esc").exists());
    }

    #[test]
    fn a_tar_cut_after_its_last_data_is_completed() {
        let full = tar_with(&[("Dockerfile", b"FROM scratch\n"), ("b.txt", b"bee")]);
        // The second entry's header (512) and its 3 data bytes, then nothing.
        let cut = &full[..512 * 3 + 3];
        let dir = tempfile::tempdir().unwrap();
        unpack(cut, dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b.txt")).unwrap(), b"bee");
    }

    #[test]
    fn garbage_is_a_clear_context_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(&b"\x42\x5a\x68 not a tar"[..], dir.path()).unwrap_err();
        assert!(matches!(err, BuildRequestError::Context(_)), "{err}");
    }
}
