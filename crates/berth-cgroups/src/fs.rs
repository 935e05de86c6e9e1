//! Small helpers to read and write cgroup files, each error naming the file (and the value).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::CgroupError;

/// Writes `value` with a single write(2), as the kernel expects for cgroup files.
pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let result = OpenOptions::new()
        .write(true)
        .truncate(false)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|source| CgroupError::Write {
        path,
        value: value.to_owned(),
        source,
    })
}

pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|source| CgroupError::read(path, source))
}

/// Reads a file holding one unsigned number; `max` (v2) reads as `u64::MAX`.
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let content = read(dir, file)?;
    parse_u64(&content).ok_or_else(|| CgroupError::Parse {
        path: dir.join(file),
        what: "an unsigned integer",
        content,
    })
}

pub(crate) fn parse_u64(content: &str) -> Option<u64> {
    let trimmed = content.trim();
    if trimmed == "max" {
        return Some(u64::MAX);
    }
    trimmed.parse().ok()
}

/// Parses "key value" lines (memory.stat, cpu.stat, memory.events, ...). Lines that do not
/// have that shape are skipped: the kernel adds fields over time.
pub(crate) fn parse_flat_keyed(content: &str) -> BTreeMap<String, u64> {
    content
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let key = parts.next()?;
            let value = parse_u64(parts.next()?)?;
            Some((key.to_owned(), value))
        })
        .collect()
}

pub(crate) fn read_flat_keyed(
    dir: &Path,
    file: &str,
) -> Result<BTreeMap<String, u64>, CgroupError> {
    Ok(parse_flat_keyed(&read(dir, file)?))
}

/// Opens a cgroup directory (for `clone3(CLONE_INTO_CGROUP)`), close-on-exec.
pub(crate) fn open_dir(dir: &Path) -> Result<std::os::fd::OwnedFd, CgroupError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .map(Into::into)
        .map_err(|source| CgroupError::read(dir.to_owned(), source))
}

/// `mkdir -p` for a cgroup directory; an existing directory is fine.
pub(crate) fn create_dir_all(path: &Path) -> Result<(), CgroupError> {
    fs::create_dir_all(path).map_err(|source| CgroupError::Mkdir {
        path: path.to_owned(),
        source,
    })
}

/// Every pid in `dir/cgroup.procs` and in all descendant cgroups.
pub(crate) fn pids_recursive(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    collect_pids(dir, &mut pids)?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

fn collect_pids(dir: &Path, pids: &mut Vec<i32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    let content = fs::read_to_string(&procs).map_err(|source| CgroupError::read(&procs, source))?;
    for line in content.lines().filter(|l| !l.trim().is_empty()) {
        let pid = line.trim().parse().map_err(|_| CgroupError::Parse {
            path: procs.clone(),
            what: "a pid",
            content: line.to_owned(),
        })?;
        pids.push(pid);
    }
    for child in child_dirs(dir)? {
        collect_pids(&child, pids)?;
    }
    Ok(())
}

/// The sub-cgroups of `dir` (directories only; cgroup files are skipped).
pub(crate) fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    sub_directories(dir).map_err(|source| CgroupError::read(dir, source))
}

fn sub_directories(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut children = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            children.push(entry.path());
        }
    }
    Ok(children)
}

/// Removes `dir` and its sub-cgroups, deepest first, retrying EBUSY briefly (tasks that just
/// exited may still be accounted for a moment). Failures are collected, not short-circuited.
pub(crate) fn remove_tree(dir: &Path, failures: &mut Vec<crate::RemoveFailure>) {
    // The common case, a leaf cgroup whose tasks are gone: one rmdir, no listing.
    match fs::remove_dir(dir) {
        Ok(()) => return,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(_) => {}
    }
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(source) => {
            failures.push(crate::RemoveFailure {
                path: dir.to_owned(),
                source,
            });
            return;
        }
        Ok(_) => {}
    }
    match sub_directories(dir) {
        Ok(children) => children.iter().for_each(|c| remove_tree(c, failures)),
        Err(source) => failures.push(crate::RemoveFailure {
            path: dir.to_owned(),
            source,
        }),
    }
    if let Err(source) = rmdir_retrying(dir) {
        failures.push(crate::RemoveFailure {
            path: dir.to_owned(),
            source,
        });
    }
}

/// Up to ~250 ms in total: enough for just-killed tasks to be reaped, short enough that a
/// cgroup that is really still in use fails fast.
fn rmdir_retrying(dir: &Path) -> io::Result<()> {
    let mut delay = std::time::Duration::from_millis(1);
    for _ in 0..8 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    fs::remove_dir(dir)
}
