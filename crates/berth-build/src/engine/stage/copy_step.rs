//! COPY/ADD as a step: the source tree (context, another stage or an image, mounted through a
//! snapshot), ownership and mode flags, then the copy into the step's workspace.

use berth_oci::Digest;

use super::named::SourceTree;
use super::{Builder, Built, CopySpec, StepBase, unknown};
use crate::engine::copy::{CopyError, CopyRequest, copy_into};
use crate::engine::dest_facts::copy_up_ancestors;
use crate::engine::error::BuildError;
use crate::engine::heredocs::{self, InlineDir};
use crate::engine::remote::{self, Fetched};
use crate::engine::users;
use crate::expand::EnvList;

impl Builder<'_> {
    pub(super) fn copy(
        &mut self,
        state: &mut Built,
        line: usize,
        spec: &CopySpec,
        build_args: &[(String, String)],
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        let keyword = spec.keyword;
        if spec.link
            && let Some(layer) = self.reuse_link_layer(state, line, keyword)?
        {
            self.copy_history(state, spec, Some(&layer));
            return Ok(());
        }
        let rebase = self.rebase_plan(state, spec);
        if let Some(plan) = &rebase
            && let Some(layer) = self.reuse_rebased_layer(state, line, plan)?
        {
            self.copy_history(state, spec, Some(&layer));
            return Ok(());
        }
        let inline = self.inline_files(state, line, spec, build_args, chmod_of(spec))?;
        let fetched = self.fetched_for(line, spec)?;
        if spec.sources.len() + spec.inline.len() + spec.remote.len() > 1
            && !spec.dest.ends_with('/')
        {
            return Err(BuildError::DestNotDir {
                line,
                instruction: keyword,
                dest: spec.dest.to_string(),
            });
        }
        let chmod = spec
            .chmod
            .map(|m| {
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| BuildError::BadFlag {
                        line,
                        instruction: keyword,
                        flag: "chmod",
                        value: m.to_string(),
                        reason: "want an octal mode like 0755",
                    })
            })
            .transpose()?;
        // The source tree: another stage or image mounted read-only-by-convention, a
        // directory context, or the main context. Directories' files become 0:0 (no --chown);
        // a snapshot's keep their owners.
        let tree = match spec.from {
            None => SourceTree::Dir {
                root: self.opts.context.clone(),
                ignore: self.ignore.clone(),
            },
            Some(from) => self.source_tree(from, line, visiting)?,
        };
        // A copy into a path the parent lacks writes the upper dir itself (what overlayfs
        // would copy up, then the copy), without overlayfs' cost per new file.
        let base = match (&rebase, spec.link) {
            (_, true) => StepBase::Nothing,
            (Some(_), false) => StepBase::Direct,
            (None, false) => StepBase::Chain,
        };
        // A snapshot's files may be hardlinked from their layers, into a new layer's own
        // upper dir only (through an overlay mount a link fails; user files are never linked).
        let link_layers = match &tree {
            SourceTree::Chain(Some(chain)) if base == StepBase::Direct => {
                self.store.snapshots.layer_dirs(chain).ok()
            }
            _ => None,
        };
        let source = tree.open(self.store, line, keyword, "copy-from")?;
        let (src_root, ignore, keep_owner) = (&source.root, &source.ignore, source.keep_owner);
        let workdir = state.config.working_dir();
        let exclude = crate::engine::sources::exclude_matcher(spec.exclude).map_err(|reason| {
            BuildError::BadFlag {
                line,
                instruction: keyword,
                flag: "exclude",
                value: spec.exclude.join(" "),
                reason,
            }
        })?;
        let layer = self.fs_step(state, line, keyword, base, |ws| {
            let rootfs = ws.rootfs();
            if let (Some(plan), StepBase::Direct) = (&rebase, base) {
                copy_up_ancestors(&rootfs, &plan.components, &plan.facts).map_err(|source| {
                    BuildError::Io {
                        line,
                        instruction: keyword,
                        path: rootfs.clone(),
                        source,
                    }
                })?;
            }
            let owner = spec
                .chown
                .map(|c| users::resolve(&rootfs, c, true).map_err(|e| unknown(line, keyword, e)))
                .transpose()?;
            if !spec.sources.is_empty() {
                let request = CopyRequest {
                    src_root,
                    sources: spec.sources,
                    dest: spec.dest,
                    workdir: &workdir,
                    ignore: ignore.as_ref(),
                    owner,
                    keep_owner,
                    chmod,
                    extract_archives: spec.extract,
                    exclude: exclude.as_ref(),
                    parents: spec.parents,
                    link_layers: link_layers.as_deref(),
                };
                copy_into(&rootfs, &request).map_err(|e| copy_error(line, keyword, src_root, e))?;
            }
            if let Some(dir) = &inline {
                let names: Vec<String> = spec.inline.iter().map(|f| f.name.clone()).collect();
                let request = CopyRequest {
                    src_root: dir.path(),
                    sources: &names,
                    dest: spec.dest,
                    workdir: &workdir,
                    ignore: None,
                    owner,
                    keep_owner: false,
                    chmod,
                    // A heredoc is a file, never an archive to unpack.
                    extract_archives: false,
                    exclude: None,
                    parents: false,
                    link_layers: None,
                };
                copy_into(&rootfs, &request)
                    .map_err(|e| copy_error(line, keyword, dir.path(), e))?;
            }
            if let Some(fetched) = &fetched {
                let request = CopyRequest {
                    src_root: fetched.dir(),
                    sources: &fetched.names,
                    dest: spec.dest,
                    workdir: &workdir,
                    ignore: None,
                    owner,
                    keep_owner: false,
                    chmod,
                    // Downloads are never unpacked.
                    extract_archives: false,
                    exclude: None,
                    parents: false,
                    link_layers: None,
                };
                copy_into(&rootfs, &request)
                    .map_err(|e| copy_error(line, keyword, fetched.dir(), e))?;
            }
            Ok(())
        })?;
        drop(inline);
        drop(fetched);
        drop(source);
        if spec.link {
            self.record_link_layer(state, layer.is_some());
        }
        if base == StepBase::Direct {
            self.copies_direct += 1;
        }
        if let (Some(plan), Some(_)) = (&rebase, &layer) {
            self.record_rebased_layer(state, plan);
        }
        self.copy_history(state, spec, layer.as_ref());
        Ok(())
    }

    /// `COPY [--flags] sources dest # buildkit`, with or without a layer.
    fn copy_history(&self, state: &mut Built, spec: &CopySpec, layer: Option<&Digest>) {
        let keyword = spec.keyword;
        let mut created_by = format!("{keyword} ");
        // BuildKit leaves --from out of the history (it names no file of this context).
        for (flag, value) in [("chown", spec.chown), ("chmod", spec.chmod)] {
            if let Some(value) = value {
                created_by.push_str(&format!("--{flag}={value} "));
            }
        }
        if spec.parents {
            created_by.push_str("--parents ");
        }
        for pattern in spec.exclude {
            created_by.push_str(&format!("--exclude={pattern} "));
        }
        let mut sources: Vec<String> = spec.sources.to_vec();
        sources.extend(spec.remote.iter().cloned());
        sources.extend(spec.inline.iter().map(|f| format!("<<{}", f.name)));
        created_by.push_str(&sources.join(" "));
        created_by.push_str(&format!(" {} # buildkit", spec.dest));
        if spec.link {
            created_by = created_by.replacen(' ', " --link ", 1);
        }
        state.config.history(&self.created, &created_by, layer);
    }

    /// The heredoc bodies, expanded with the stage's variables, as files in a private dir
    /// (mode 0644 or `--chmod`, mtime SOURCE_DATE_EPOCH or 0 so the layer is reproducible).
    fn inline_files(
        &self,
        state: &Built,
        line: usize,
        spec: &CopySpec,
        build_args: &[(String, String)],
        chmod: Option<u32>,
    ) -> Result<Option<InlineDir>, BuildError> {
        if spec.inline.is_empty() {
            return Ok(None);
        }
        let mut env = EnvList::from_pairs(state.config.env());
        for (k, v) in build_args {
            if env.iter().all(|(key, _)| key != k) {
                env.push(k, v);
            }
        }
        let mut files = Vec::new();
        for file in spec.inline {
            if !heredocs::valid_name(&file.name) {
                return Err(BuildError::BadFlag {
                    line,
                    instruction: spec.keyword,
                    flag: "heredoc",
                    value: file.name.clone(),
                    reason: "a heredoc delimiter must be usable as a file name",
                });
            }
            let content = heredocs::file_content(file, self.file.escape, &env).map_err(|e| {
                BuildError::Instruction(crate::instructions::InstructionError {
                    file: self.file.file.clone(),
                    line,
                    kind: Box::new(crate::instructions::InstructionErrorKind::Expand {
                        instruction: spec.keyword.to_string(),
                        source: e,
                    }),
                })
            })?;
            files.push((file.name.clone(), content));
        }
        let dir = self
            .store
            .root()
            .join("build-tmp")
            .join(format!("heredoc-{}", super::super::network::new_step_id()));
        let mtime = self.opts.source_date_epoch.unwrap_or(0);
        InlineDir::write(dir.clone(), &files, chmod.unwrap_or(0o644), mtime)
            .map(Some)
            .map_err(|source| BuildError::Io {
                line,
                instruction: spec.keyword,
                path: dir,
                source,
            })
    }

    /// The downloads of an ADD: made already for its cache key, or now.
    pub(super) fn fetched_for(
        &mut self,
        line: usize,
        spec: &CopySpec,
    ) -> Result<Option<Fetched>, BuildError> {
        if spec.remote.is_empty() {
            return Ok(None);
        }
        if let Some(fetched) = self.fetched.remove(&line) {
            return Ok(Some(fetched));
        }
        self.fetch(line, &spec.remote, spec.checksum, spec.dest.ends_with('/'))
            .map(Some)
    }

    pub(super) fn fetch(
        &self,
        line: usize,
        urls: &[String],
        checksum: Option<&str>,
        dest_is_dir: bool,
    ) -> Result<Fetched, BuildError> {
        let dir = self.store.root().join("build-tmp").join(format!(
            "download-{}",
            crate::engine::network::new_step_id()
        ));
        remote::fetch(urls, dir, checksum, dest_is_dir)
            .map_err(|source| BuildError::Fetch { line, source })
    }
}

pub(super) fn copy_error(
    line: usize,
    instruction: &'static str,
    root: &std::path::Path,
    e: CopyError,
) -> BuildError {
    match e {
        CopyError::SourceMissing { source_path } => BuildError::SourceMissing {
            line,
            instruction,
            source_path,
            root: root.to_path_buf(),
        },
        CopyError::DestNotDir { dest } => BuildError::DestNotDir {
            line,
            instruction,
            dest,
        },
        CopyError::Io { path, source } => BuildError::Io {
            line,
            instruction,
            path,
            source,
        },
    }
}

/// `--chmod` parsed for the heredoc files (the step reports a bad value itself).
fn chmod_of(spec: &CopySpec) -> Option<u32> {
    spec.chmod
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .filter(|m| *m <= 0o7777)
}
