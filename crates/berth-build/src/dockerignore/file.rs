//! Reading a `.dockerignore` file into patterns, and choosing which file applies.

use std::path::{Path, PathBuf};

use super::clean::clean_path;

/// The patterns of an ignore file, as Docker's `ignorefile.ReadAll` produces them: BOM removed,
/// `#` comment lines and blank lines skipped, surrounding spaces trimmed, each pattern cleaned
/// and made relative (a leading `/` dropped), `!` kept in front.
pub fn parse_ignore_file(content: &str) -> Vec<String> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut patterns = Vec::new();
    for line in content.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean_path(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        patterns.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    patterns
}

/// Where to look for the ignore file, in order: `<Dockerfile>.dockerignore` beside the
/// Dockerfile, then `.dockerignore` at the context root.
pub fn ignore_file_candidates(context_dir: &Path, dockerfile: &Path) -> [PathBuf; 2] {
    let mut specific = dockerfile.as_os_str().to_owned();
    specific.push(".dockerignore");
    [PathBuf::from(specific), context_dir.join(".dockerignore")]
}

/// The first candidate for which `exists` holds (the caller decides how to look).
pub fn pick_ignore_file(
    context_dir: &Path,
    dockerfile: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    ignore_file_candidates(context_dir, dockerfile)
        .into_iter()
        .find(|candidate| exists(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_patterns_like_docker() {
        let text = "\u{feff}# comment\n\n  node_modules  \n/abs/path/\n!./keep/../keep.txt\n ! spaced\n#!not-a-pattern\n./\n!\n";
        assert_eq!(
            parse_ignore_file(text),
            vec!["node_modules", "abs/path", "!keep.txt", "!spaced", ".", "!"]
        );
    }

    #[test]
    fn dockerfile_specific_ignore_file_wins() {
        let ctx = Path::new("/ctx");
        let df = Path::new("/ctx/build/app.Dockerfile");
        let both = pick_ignore_file(ctx, df, |_| true).unwrap();
        assert_eq!(
            both,
            PathBuf::from("/ctx/build/app.Dockerfile.dockerignore")
        );
        let only_root = pick_ignore_file(ctx, df, |p| p == Path::new("/ctx/.dockerignore"));
        assert_eq!(only_root, Some(PathBuf::from("/ctx/.dockerignore")));
        assert_eq!(pick_ignore_file(ctx, df, |_| false), None);
    }
}
