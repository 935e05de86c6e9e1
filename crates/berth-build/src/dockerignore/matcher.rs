//! The matcher: patterns in order, the last one that matches a path (or one of its parent
//! directories) decides; `!` patterns re-include.

use super::clean::clean_path;
use super::pattern::{Pattern, PatternError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    has_exclusions: bool,
}

impl Matcher {
    /// Compiles patterns (as [`parse_ignore_file`](super::parse_ignore_file) returns them);
    /// blank ones are skipped.
    pub fn new<I, S>(patterns: I) -> Result<Self, PatternError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut compiled = Vec::new();
        for raw in patterns {
            if raw.as_ref().trim().is_empty() {
                continue;
            }
            compiled.push(Pattern::new(raw.as_ref())?);
        }
        Ok(Self {
            has_exclusions: compiled.iter().any(Pattern::is_exclusion),
            patterns: compiled,
        })
    }

    /// Parses and compiles the content of an ignore file.
    pub fn from_ignore_file(content: &str) -> Result<Self, PatternError> {
        Self::new(super::parse_ignore_file(content))
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded from the context.
    /// `is_dir` does not change the answer (patterns have no directory-only form once
    /// cleaned) but documents the call site; see [`Matcher::can_skip_dir`] for directories.
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        let _ = is_dir;
        let path = normalise(path);
        // The context root itself is never excluded.
        if path == "." || path.is_empty() && self.patterns.is_empty() {
            return false;
        }
        let parents: Vec<&str> = parent_prefixes(&path).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only a pattern that could change the answer is evaluated.
            if pattern.is_exclusion() != excluded {
                continue;
            }
            let hit = pattern.matches(&path) || parents.iter().any(|p| pattern.matches(p));
            if hit {
                excluded = !pattern.is_exclusion();
            }
        }
        excluded
    }

    /// Whether a walker may skip directory `dir` entirely: it is excluded and no exception
    /// could re-include anything below it.
    pub fn can_skip_dir(&self, dir: &str) -> bool {
        if !self.matches(dir, true) {
            return false;
        }
        if !self.has_exclusions {
            return true;
        }
        let inside = format!("{}/", normalise(dir));
        !self
            .patterns
            .iter()
            .any(|p| p.is_exclusion() && p.could_match_with_prefix(&inside))
    }
}

/// `./a//b/` → `a/b`; a leading `/` is dropped (paths are relative to the context).
fn normalise(path: &str) -> String {
    let cleaned = clean_path(path);
    cleaned.trim_start_matches('/').to_string()
}

/// `a/b/c` → `a`, `a/b` (the parent directories, outermost first).
fn parent_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}
