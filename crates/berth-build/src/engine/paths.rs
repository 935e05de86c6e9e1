//! Path handling inside a root directory: lexical cleaning and symlink resolution that never
//! leaves the root (a rootfs's absolute symlinks point into the rootfs, not the host).

use std::path::{Path, PathBuf};

/// Symlink hops before giving up (Linux's own limit).
const MAX_HOPS: usize = 40;

/// `path` cleaned and made relative: `/a/./b/../c` → `a/c`; `..` never climbs above the root.
pub fn clean_relative(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Joins `rel` to `root`, following symlinks as if `root` were `/`; with `follow_last`
/// false the final component is not followed. Missing components are appended as they are.
pub fn scoped_resolve(root: &Path, rel: &str, follow_last: bool) -> PathBuf {
    let mut pending: Vec<String> = rel
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(component) = pending.pop() {
        match component.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = join(root, &resolved).join(&component);
        let is_last = pending.is_empty();
        let link = std::fs::symlink_metadata(&candidate)
            .ok()
            .filter(|m| m.file_type().is_symlink() && (follow_last || !is_last))
            .and_then(|_| std::fs::read_link(&candidate).ok());
        match link {
            Some(target) if hops < MAX_HOPS => {
                hops += 1;
                let text = target.to_string_lossy().into_owned();
                if text.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(
                    text.split('/')
                        .filter(|c| !c.is_empty())
                        .rev()
                        .map(str::to_string),
                );
            }
            _ => resolved.push(component),
        }
    }
    join(root, &resolved)
}

fn join(root: &Path, parts: &[String]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(parts);
    path
}
