//! `RUN --mount=type=cache,from=NAME[,source=PATH]`: the cache starts as a copy of what a
//! stage, image or named context holds at PATH. As in BuildKit, such a cache is one per id
//! *and* source content (a changed source starts a fresh cache), filled the first time it is
//! used and kept like any cache mount after that.

use std::fs;
use std::path::PathBuf;

use super::Builder;
use super::run_mounts::cache_mount_dir;
use crate::engine::cache::SourceFilter;
use crate::engine::copy::{CopyRequest, copy_into};
use crate::engine::error::BuildError;
use crate::engine::paths::{clean_relative, scoped_resolve};

impl Builder<'_> {
    /// What a seeded cache mount adds to the step's cache key (its source's identity).
    pub(super) fn cache_from_identity(
        &mut self,
        from: &str,
        source: Option<&str>,
        line: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<String, BuildError> {
        let source = source_arg(source);
        self.identity_of_from(from, &[source], SourceFilter::default(), line, visiting)
    }

    /// The directory of cache `id` seeded from `from` (at `source`), filled if new.
    pub(super) fn seeded_cache_dir(
        &mut self,
        id: &str,
        from: &str,
        source: Option<&str>,
        line: usize,
        visiting: &mut Vec<usize>,
    ) -> Result<PathBuf, BuildError> {
        let identity = self.cache_from_identity(from, source, line, visiting)?;
        let dir = cache_mount_dir(self.store.root(), &format!("{id}\0from\0{identity}"));
        if dir.is_dir() {
            return Ok(dir);
        }
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| BuildError::Io {
                line,
                instruction: "RUN",
                path,
                source,
            }
        };
        let tree = self.source_tree(from, line, visiting)?;
        let open = tree.open(self.store, line, "RUN", "cache-from")?;
        let root = open.root.clone();
        let rel = clean_relative(source.unwrap_or("/"));
        if fs::symlink_metadata(scoped_resolve(&root, &rel, true)).is_err() {
            return Err(BuildError::SourceMissing {
                line,
                instruction: "RUN --mount",
                source_path: source.unwrap_or("/").to_string(),
                root,
            });
        }
        // Filled aside and renamed into place: a concurrent step never sees half a seed.
        let parent = dir.parent().map(PathBuf::from).unwrap_or_default();
        fs::create_dir_all(&parent).map_err(io(&parent))?;
        let tmp = parent.join(format!(".seed-{}", crate::engine::network::new_step_id()));
        fs::create_dir(&tmp).map_err(io(&tmp))?;
        let sources = [source_arg(source)];
        let request = CopyRequest {
            src_root: &root,
            sources: &sources,
            dest: "/",
            workdir: "/",
            ignore: open.ignore.as_ref(),
            owner: None,
            keep_owner: open.keep_owner,
            chmod: None,
            extract_archives: false,
            exclude: None,
            parents: false,
            link_layers: None,
        };
        let filled = copy_into(&tmp, &request)
            .map_err(|e| super::copy_step::copy_error(line, "RUN", &root, e))
            .and_then(|_| match fs::rename(&tmp, &dir) {
                // Another step seeded it first: theirs is as good.
                Err(_) if dir.is_dir() => Ok(()),
                other => other.map_err(io(&dir)),
            });
        if tmp.exists()
            && let Err(error) = fs::remove_dir_all(&tmp)
        {
            tracing::warn!(path = %tmp.display(), %error, "removing a cache seed");
        }
        filled.map(|()| dir)
    }
}

/// The path a seeded cache copies, as a COPY source (`.` for the whole tree).
fn source_arg(source: Option<&str>) -> String {
    let rel = clean_relative(source.unwrap_or("/"));
    if rel.is_empty() { ".".to_string() } else { rel }
}
