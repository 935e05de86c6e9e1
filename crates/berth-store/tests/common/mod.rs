//! Shared helpers for berth-store's integration tests (run as root).
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

/// A store root in a fresh temp dir named after this branch and pid; removed on drop.
pub fn temp_root(purpose: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("berth-store-{purpose}-{}-", std::process::id()))
        .tempdir()
        .expect("create temp dir")
}

/// Test fixtures (see /work/shared/images/README.md); set `BERTH_SHARED` when the checkout is
/// not beside `shared/`.
pub fn fixture(name: &str) -> PathBuf {
    berth_testutil::fixture(name)
}

/// One line per entry of a tar stream: `type mode uid gid size-or-dev mtime sha256 path [-> target]`.
/// Hard links are listed as the regular file they share content with, so overlay (which may
/// or may not show shared inodes) and the copy fallback produce the same listing.
pub fn listing(mut tar_stream: impl Read) -> String {
    let mut data = Vec::new();
    tar_stream.read_to_end(&mut data).expect("read tar");
    let mut archive = tar::Archive::new(data.as_slice());
    let mut files: HashMap<String, (u64, String)> = HashMap::new();
    let mut lines = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = String::from_utf8_lossy(&entry.path_bytes())
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned();
        if path.is_empty() {
            continue;
        }
        let header = entry.header().clone();
        let mode = header.mode().unwrap() & 0o7777;
        let (uid, gid, mtime) = (
            header.uid().unwrap(),
            header.gid().unwrap(),
            header.mtime().unwrap(),
        );
        let mut line = String::new();
        match header.entry_type() {
            tar::EntryType::Directory => {
                write!(line, "d {mode:04o} {uid} {gid} - {mtime} - {path}").unwrap()
            }
            tar::EntryType::Regular => {
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                let sha = hex(&sha2::Sha256::digest(&content));
                write!(
                    line,
                    "f {mode:04o} {uid} {gid} {} {mtime} {sha} {path}",
                    content.len()
                )
                .unwrap();
                files.insert(path.clone(), (content.len() as u64, sha));
            }
            tar::EntryType::Link => {
                let target = String::from_utf8_lossy(&entry.link_name_bytes().unwrap())
                    .trim_start_matches("./")
                    .to_owned();
                let (size, sha) = files
                    .get(&target)
                    .cloned()
                    .unwrap_or_else(|| panic!("hard link {path} to unknown {target}"));
                files.insert(path.clone(), (size, sha.clone()));
                write!(line, "f {mode:04o} {uid} {gid} {size} {mtime} {sha} {path}").unwrap();
            }
            tar::EntryType::Symlink => {
                let target =
                    String::from_utf8_lossy(&entry.link_name_bytes().unwrap()).into_owned();
                write!(
                    line,
                    "l {mode:04o} {uid} {gid} - {mtime} - {path} -> {target}"
                )
                .unwrap();
            }
            kind @ (tar::EntryType::Char | tar::EntryType::Block) => {
                let t = if kind == tar::EntryType::Char {
                    'c'
                } else {
                    'b'
                };
                let (major, minor) = (
                    header.device_major().unwrap().unwrap(),
                    header.device_minor().unwrap().unwrap(),
                );
                write!(
                    line,
                    "{t} {mode:04o} {uid} {gid} {major},{minor} {mtime} - {path}"
                )
                .unwrap();
            }
            tar::EntryType::Fifo => {
                write!(line, "p {mode:04o} {uid} {gid} - {mtime} - {path}").unwrap()
            }
            other => panic!("unexpected entry type {other:?} at {path}"),
        }
        lines.push((path, line));
    }
    lines.sort();
    lines.into_iter().map(|(_, l)| l + "\n").collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares `actual` with the committed golden file; `BERTH_UPDATE_GOLDEN=1` rewrites it instead
/// (a deliberate act: review the diff before committing).
pub fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BERTH_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} missing ({e}); run with BERTH_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = diff_lines(&expected, actual);
        panic!(
            "{} differs from the golden listing ({} differing lines):\n{}",
            name,
            diff.len(),
            diff.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

fn diff_lines(expected: &str, actual: &str) -> Vec<String> {
    let e: std::collections::BTreeSet<&str> = expected.lines().collect();
    let a: std::collections::BTreeSet<&str> = actual.lines().collect();
    e.difference(&a)
        .map(|l| format!("- {l}"))
        .chain(a.difference(&e).map(|l| format!("+ {l}")))
        .collect()
}

/// Sorted names inside a directory (for "nothing half-written" assertions).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}
