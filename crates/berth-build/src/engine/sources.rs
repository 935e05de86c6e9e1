//! The sources of a COPY/ADD found in their root (context or a stage's rootfs): wildcards per
//! path component (Go's filepath.Match), and for `--parents` also `**` and the `/./` pivot.
//! Each match says which path `--exclude` patterns test for it and its children, and (with
//! `--parents`) where it lands under the destination.

use std::fs;
use std::path::{Path, PathBuf};

use super::paths::{clean_relative, scoped_resolve};
use crate::dockerignore::{Matcher, Pattern};

/// One source found in the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMatch {
    /// Relative to the root (what `.dockerignore` tests).
    pub rel: String,
    pub path: PathBuf,
    /// The path `--exclude` tests for the match itself: its name for a wildcard match, its
    /// path below the pivot with `--parents`; none for a plain source (never excluded).
    pub exclude_self: Option<String>,
    /// Prefix of the paths `--exclude` tests for what is inside a directory match.
    pub exclude_prefix: String,
    /// `--parents`: the path kept under the destination (the match below the pivot).
    pub kept: Option<String>,
}

/// `--exclude` patterns, compiled; an empty list excludes nothing.
pub fn exclude_matcher(patterns: &[String]) -> Result<Option<Matcher>, &'static str> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for pattern in patterns {
        crate::instructions::check_exclude_pattern(pattern)?;
    }
    Matcher::new(patterns)
        .map(Some)
        .map_err(|_| "not a valid pattern")
}

fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// The matches of `source` in `root`, in a stable (sorted) order; empty when nothing matches.
pub fn find(root: &Path, source: &str, parents: bool) -> Vec<SourceMatch> {
    if parents {
        return find_with_parents(root, source);
    }
    let rel = clean_relative(source);
    if !has_wildcards(&rel) {
        let path = scoped_resolve(root, &rel, true);
        if fs::symlink_metadata(&path).is_err() {
            return Vec::new();
        }
        return vec![SourceMatch {
            rel,
            path,
            exclude_self: None,
            exclude_prefix: String::new(),
            kept: None,
        }];
    }
    wildcard_matches(root, &rel)
        .into_iter()
        .map(|(rel, path)| {
            let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
            SourceMatch {
                rel,
                path,
                exclude_self: Some(name),
                exclude_prefix: String::new(),
                kept: None,
            }
        })
        .collect()
}

/// Wildcards matched one path component at a time; each match as (relative path, path).
fn wildcard_matches(root: &Path, rel: &str) -> Vec<(String, PathBuf)> {
    let mut found = vec![(String::new(), root.to_path_buf())];
    for component in rel.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for (prefix, dir) in found {
            let join = |name: &str| {
                if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                }
            };
            if !has_wildcards(component) {
                let path = dir.join(component);
                if fs::symlink_metadata(&path).is_ok() {
                    next.push((join(component), path));
                }
                continue;
            }
            let Ok(pattern) = Pattern::new(component) else {
                continue;
            };
            for name in sorted_names(&dir) {
                if pattern.matches(&name) {
                    next.push((join(&name), dir.join(&name)));
                }
            }
        }
        found = next;
    }
    found
}

fn sorted_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// `--parents`: the part before a `/./` is the pivot (the root when there is none); what
/// follows it is kept under the destination. `**` matches any number of directories.
fn find_with_parents(root: &Path, source: &str) -> Vec<SourceMatch> {
    let (pivot, rest) = match source.find("/./") {
        Some(at) => (
            clean_relative(&source[..at]),
            clean_relative(&source[at + 3..]),
        ),
        None => (String::new(), clean_relative(source)),
    };
    let full = if pivot.is_empty() {
        rest.clone()
    } else if rest.is_empty() {
        pivot.clone()
    } else {
        format!("{pivot}/{rest}")
    };
    let below_pivot = |rel: &str| -> String {
        if pivot.is_empty() {
            rel.to_string()
        } else {
            rel.strip_prefix(&pivot)
                .map(|r| r.trim_start_matches('/').to_string())
                .unwrap_or_else(|| rel.to_string())
        }
    };
    let found: Vec<(String, PathBuf)> = if rest.split('/').any(|c| c.contains("**")) {
        globstar_matches(root, &pivot, &full)
    } else if has_wildcards(&full) {
        wildcard_matches(root, &full)
    } else {
        let path = scoped_resolve(root, &full, true);
        if fs::symlink_metadata(&path).is_ok() {
            vec![(full.clone(), path)]
        } else {
            Vec::new()
        }
    };
    found
        .into_iter()
        .map(|(rel, path)| {
            let kept = below_pivot(&rel);
            SourceMatch {
                exclude_self: (!kept.is_empty()).then(|| kept.clone()),
                exclude_prefix: kept.clone(),
                kept: Some(kept),
                rel,
                path,
            }
        })
        .collect()
}

/// Every entry below `base` whose path (relative to the root) matches `pattern` (with `**`);
/// a matching directory is taken whole, not searched further.
fn globstar_matches(root: &Path, base: &str, pattern: &str) -> Vec<(String, PathBuf)> {
    let Ok(pattern) = Pattern::new(pattern) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let start = scoped_resolve(root, base, true);
    walk(&start, base, &pattern, &mut found);
    found
}

fn walk(dir: &Path, rel: &str, pattern: &Pattern, found: &mut Vec<(String, PathBuf)>) {
    for name in sorted_names(dir) {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = dir.join(&name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if pattern.matches(&child_rel) {
            found.push((child_rel, path));
        } else if meta.is_dir() {
            walk(&path, &child_rel, pattern, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "x/a.txt",
            "x/y/b.txt",
            "x/y/c.md",
            "src/a.txt",
            "src/q/r/d.txt",
        ] {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, file).unwrap();
        }
        dir
    }

    fn kept(root: &Path, source: &str) -> Vec<String> {
        find(root, source, true)
            .into_iter()
            .filter_map(|m| m.kept)
            .collect()
    }

    #[test]
    fn parents_keep_paths_below_the_pivot() {
        let dir = tree();
        assert_eq!(kept(dir.path(), "./x/a.txt"), vec!["x/a.txt"]);
        assert_eq!(
            kept(dir.path(), "./x/./y/*.txt"),
            vec!["y/b.txt".to_string()]
        );
        assert_eq!(
            kept(dir.path(), "./src/**/*.txt"),
            vec!["src/a.txt", "src/q/r/d.txt"]
        );
        assert_eq!(kept(dir.path(), "x/./y"), vec!["y"]);
    }

    #[test]
    fn wildcard_matches_are_tested_by_name() {
        let dir = tree();
        let found = find(dir.path(), "x/y/*", false);
        let names: Vec<_> = found
            .iter()
            .filter_map(|m| m.exclude_self.clone())
            .collect();
        assert_eq!(names, vec!["b.txt", "c.md"]);
        let plain = find(dir.path(), "x", false);
        assert_eq!(plain[0].exclude_self, None);
        assert_eq!(plain[0].exclude_prefix, "");
    }
}
