//! Named contexts in the stage graph, in BuildKit's order:
//! - a stage named like a context is replaced by it whole (its instructions never run);
//! - `FROM NAME`: an earlier stage, else a context, else an image;
//! - `--from=NAME` (COPY, RUN --mount): a stage (by name or index, replaced or not), else a
//!   context, else an image.
//!
//! A directory context is read like the main context (its own `.dockerignore`, files owned by
//! 0:0, cache keys over the files a step reads); as a base it becomes one layer.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_oci::Digest;
use berth_store::Store;

use super::{Builder, Built};
use crate::dockerignore::Matcher;
use crate::engine::cache::{self, CacheEntry, CacheKey, SourceFilter};
use crate::engine::config::ImageConfig;
use crate::engine::copy::{CopyRequest, copy_into};
use crate::engine::error::BuildError;
use crate::engine::named_context::{NamedContext, NamedContexts, lookup_key};
use crate::engine::workspace::Workspace;

/// A named context ready to read.
#[derive(Debug, Clone)]
pub(crate) enum Ready {
    Dir {
        root: PathBuf,
        ignore: Option<Matcher>,
    },
    Image(String),
}

/// The build's named contexts by normalised name, directories' `.dockerignore` read once.
#[derive(Debug, Default)]
pub(crate) struct ReadyContexts(BTreeMap<String, Ready>);

impl ReadyContexts {
    pub(crate) fn load(contexts: &NamedContexts) -> Result<ReadyContexts, BuildError> {
        let mut ready = BTreeMap::new();
        for (key, context) in contexts.iter() {
            let value = match context {
                NamedContext::Image(reference) => Ready::Image(pinned(reference)),
                NamedContext::Local(root) => {
                    let dir_error = |source| BuildError::ContextDir {
                        name: key.clone(),
                        path: root.clone(),
                        source,
                    };
                    let meta = std::fs::metadata(root).map_err(dir_error)?;
                    if !meta.is_dir() {
                        return Err(dir_error(std::io::Error::new(
                            std::io::ErrorKind::NotADirectory,
                            "not a directory",
                        )));
                    }
                    Ready::Dir {
                        root: root.clone(),
                        ignore: dir_ignore(root)?,
                    }
                }
            };
            ready.insert(key.clone(), value);
        }
        Ok(ReadyContexts(ready))
    }

    pub(crate) fn get(&self, reference: &str) -> Option<&Ready> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(&lookup_key(reference)?)
    }
}

/// `name:tag@digest` as `name@digest`: the digest decides, the tag says nothing more (as
/// Docker resolves such a reference).
fn pinned(reference: &str) -> String {
    match berth_oci::Reference::parse_normalized(reference) {
        Ok(parsed) if parsed.tag().is_some() => match parsed.digest() {
            Some(digest) => parsed.with_digest(digest.clone()).familiar_string(),
            None => reference.to_string(),
        },
        _ => reference.to_string(),
    }
}

/// `<dir>/.dockerignore`, as BuildKit reads it for a local named context.
fn dir_ignore(root: &std::path::Path) -> Result<Option<Matcher>, BuildError> {
    let path = root.join(".dockerignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BuildError::Read { path, source }),
    };
    Matcher::from_ignore_file(&text)
        .map(Some)
        .map_err(|source| BuildError::Ignore { path, source })
}

/// What a `--from` name reaches.
pub(super) enum FromRef {
    Stage(usize),
    Context(Ready),
    Image(String),
}

/// The tree a `COPY --from` or `RUN --mount from=` reads.
pub(super) enum SourceTree {
    /// A snapshot chain (a stage or an image; `None`: empty).
    Chain(Option<Digest>),
    /// A directory context, with its `.dockerignore`.
    Dir {
        root: PathBuf,
        ignore: Option<Matcher>,
    },
}

/// A source tree open for reading: its root, the `.dockerignore` that applies there, and
/// whether files keep their owners (a snapshot's do; a directory's become 0:0).
pub(super) struct OpenTree<'s> {
    /// The mounted snapshot of a chain, for as long as the tree is read.
    pub snapshot: Option<Workspace<'s>>,
    pub root: PathBuf,
    pub ignore: Option<Matcher>,
    pub keep_owner: bool,
}

impl SourceTree {
    /// Mounts a chain (labelled `label` in the store's build-tmp); a directory is read as is.
    pub(super) fn open<'s>(
        self,
        store: &'s Store,
        line: usize,
        instruction: &'static str,
        label: &str,
    ) -> Result<OpenTree<'s>, BuildError> {
        Ok(match self {
            SourceTree::Chain(chain) => {
                let ws = Workspace::open(store, chain.as_ref(), label).map_err(|source| {
                    BuildError::Snapshot {
                        line,
                        instruction,
                        source,
                    }
                })?;
                OpenTree {
                    root: ws.rootfs(),
                    snapshot: Some(ws),
                    ignore: None,
                    keep_owner: true,
                }
            }
            SourceTree::Dir { root, ignore } => OpenTree {
                snapshot: None,
                root,
                ignore,
                keep_owner: false,
            },
        })
    }
}

impl Builder<'_> {
    /// The context that replaces stage `index` (one named like the stage), if any.
    fn stage_context(&self, index: usize) -> Option<(String, Ready)> {
        let name = self.file.stages.get(index)?.name()?;
        let ready = self.contexts.get(name)?.clone();
        Some((name.to_string(), ready))
    }

    /// Whether a named context replaces stage `index` (then it has no dependencies).
    pub(super) fn is_replaced(&self, index: usize) -> bool {
        self.stage_context(index).is_some()
    }

    /// Stage `index` as the context named like it gives it, if one is.
    pub(super) fn stage_replacement(
        &mut self,
        index: usize,
        line: usize,
    ) -> Result<Option<Built>, BuildError> {
        let Some((name, ready)) = self.stage_context(index) else {
            return Ok(None);
        };
        self.say(&format!(" ---> Replaced by the named context {name}\n"));
        self.context_base(&ready, &name, line).map(Some)
    }

    pub(super) fn resolve_from(&self, from: &str) -> FromRef {
        if let Some(index) = self.file.stage_index(from) {
            return match self.stage_context(index) {
                Some((_, ready)) => FromRef::Context(ready),
                None => FromRef::Stage(index),
            };
        }
        match self.contexts.get(from) {
            Some(ready) => FromRef::Context(ready.clone()),
            None => FromRef::Image(from.to_string()),
        }
    }

    /// The tree `--from=<from>` reads.
    pub(super) fn source_tree(
        &mut self,
        from: &str,
        line: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<SourceTree, BuildError> {
        let image = match self.resolve_from(from) {
            FromRef::Stage(index) => {
                if visiting.contains(&index) {
                    return Err(BuildError::StageCycle {
                        line,
                        stage: index,
                        reference: from.to_string(),
                    });
                }
                return Ok(SourceTree::Chain(self.stage(index, visiting)?.chain));
            }
            FromRef::Context(Ready::Dir { root, ignore }) => {
                return Ok(SourceTree::Dir { root, ignore });
            }
            FromRef::Context(Ready::Image(image)) | FromRef::Image(image) => image,
        };
        if image.eq_ignore_ascii_case("scratch") {
            return Ok(SourceTree::Chain(None));
        }
        Ok(SourceTree::Chain(
            self.resolve_image(&image, line)?.chain_id,
        ))
    }

    /// What `--from=<from>` contributes to a step's cache key: a stage's key, an image's ID,
    /// or, for a directory context, the files `sources` select (hashed like the main
    /// context's).
    pub(super) fn identity_of_from(
        &mut self,
        from: &str,
        sources: &[String],
        filter: SourceFilter,
        line: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<String, BuildError> {
        let image = match self.resolve_from(from) {
            FromRef::Stage(index) if !visiting.contains(&index) => {
                return Ok(format!(
                    "stage:{}",
                    self.stage(index, visiting)?.cache_key.0
                ));
            }
            // A cycle is reported by the step itself.
            FromRef::Stage(index) => return Ok(format!("cycle:{index}")),
            FromRef::Context(Ready::Dir { root, ignore }) => {
                let digest = cache::sources_digest(&root, sources, ignore.as_ref(), filter)
                    // A missing source fails the step itself with a clear error.
                    .unwrap_or_else(|e| format!("unreadable:{e}"));
                return Ok(format!("context:{digest}"));
            }
            FromRef::Context(Ready::Image(image)) | FromRef::Image(image) => image,
        };
        if image.eq_ignore_ascii_case("scratch") {
            return Ok("scratch".to_string());
        }
        // An unknown image is reported by the step itself.
        Ok(match self.resolve_image(&image, line) {
            Ok(record) => format!("image:{}", record.id),
            Err(_) => format!("unresolved:{image}"),
        })
    }

    /// A stage's start from a named context: an image as FROM takes one, a directory as one
    /// layer under an empty config (BuildKit's empty image).
    pub(super) fn context_base(
        &mut self,
        ready: &Ready,
        name: &str,
        line: usize,
    ) -> Result<Built, BuildError> {
        match ready {
            Ready::Image(image) if image.eq_ignore_ascii_case("scratch") => Ok(self.scratch_base()),
            Ready::Image(image) => self.image_base(image, line),
            Ready::Dir { root, ignore } => self.dir_base(root, ignore.as_ref(), name, line),
        }
    }

    /// A directory context's files as a base layer, cached by their content.
    fn dir_base(
        &mut self,
        root: &std::path::Path,
        ignore: Option<&Matcher>,
        name: &str,
        line: usize,
    ) -> Result<Built, BuildError> {
        let all = [".".to_string()];
        let digest = cache::sources_digest(root, &all, ignore, SourceFilter::default()).map_err(
            |source| BuildError::Io {
                line,
                instruction: "FROM",
                path: root.to_path_buf(),
                source,
            },
        )?;
        let key = CacheKey::base(&format!("context-dir:{digest}"));
        let mut state = Built {
            config: ImageConfig::from_base(None, &self.created),
            layers: Vec::new(),
            chain: None,
            cache_key: key.clone(),
            skip_cache: false,
        };
        let hit = if self.opts.no_cache {
            None
        } else {
            cache::lookup(self.store, &key)
        };
        if let Some(entry) = hit {
            if let Some(layer) = entry.layer {
                let layer = self.in_build_compression(layer, line, "FROM")?;
                state.layers.push(layer);
            }
            state.chain = entry.chain;
            state.config.doc = entry.config;
            self.steps_cached += 1;
            self.say(" ---> Using cache\n");
            return Ok(state);
        }
        let layer = self.fs_step(&mut state, line, "FROM", super::StepBase::Nothing, |ws| {
            let request = CopyRequest {
                src_root: root,
                sources: &all,
                dest: "/",
                workdir: "/",
                ignore,
                owner: None,
                keep_owner: false,
                chmod: None,
                extract_archives: false,
                exclude: None,
                parents: false,
                link_layers: None,
            };
            copy_into(&ws.rootfs(), &request)
                .map(drop)
                .map_err(|e| super::copy_step::copy_error(line, "FROM", root, e))
        })?;
        let history = format!("FROM {name} (named context)");
        state
            .config
            .history(&self.created, &history, layer.as_ref());
        let entry = CacheEntry {
            config: state.config.doc.clone(),
            cmd_set: false,
            layer: state.layers.last().cloned(),
            chain: state.chain.clone(),
        };
        if let Err(e) = cache::store_entry(self.store, &key, &entry) {
            tracing::warn!(line, error = %e, "could not record a build cache entry");
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::pinned;

    #[test]
    fn a_digest_pins_the_image_whatever_the_tag() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            pinned(&format!("busybox:1.35@{digest}")),
            format!("busybox@{digest}")
        );
        assert_eq!(pinned("fixtures/busybox:1.35"), "fixtures/busybox:1.35");
        assert_eq!(pinned("scratch"), "scratch");
    }
}
