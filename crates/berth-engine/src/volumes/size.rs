//! How much a volume holds (prune's `SpaceReclaimed`): the sizes of its files, each hard-linked
//! file once, symlinks not followed.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub fn dir_size(root: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if seen.insert((meta.dev(), meta.ino())) {
                total = total.saturating_add(meta.len());
            }
        }
    }
    total
}
