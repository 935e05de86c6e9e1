//! Path resolution that cannot leave the layer root: every parent is opened with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so `..` and symlinks in parent paths fail in
//! the kernel instead of being followed. Only the final component is ever created or replaced,
//! always through the parent's fd with `*at` calls that do not follow it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// Why an entry's path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    ParentComponent,
    Absolute,
    Nul,
}

impl PathProblem {
    pub fn describe(self) -> &'static str {
        match self {
            PathProblem::ParentComponent => "contains a `..` component",
            PathProblem::Absolute => "is absolute",
            PathProblem::Nul => "contains a NUL byte",
        }
    }
}

/// Splits an archive path into plain components; `.` is dropped, `..` and absolute paths refused.
pub fn clean_components(path: &Path) -> Result<Vec<OsString>, PathProblem> {
    let mut out = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => {
                if name.as_encoded_bytes().contains(&0) {
                    return Err(PathProblem::Nul);
                }
                out.push(name.to_owned());
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(PathProblem::ParentComponent),
            Component::RootDir | Component::Prefix(_) => return Err(PathProblem::Absolute),
        }
    }
    Ok(out)
}

pub fn join(components: &[OsString]) -> PathBuf {
    components.iter().collect()
}

/// Opens the directory `components` below `root` without following symlinks; with `create`,
/// missing directories are made (mode 0755, as tar does for implicit parents).
pub fn open_dir_beneath(
    root: &OwnedFd,
    components: &[OsString],
    create: bool,
) -> io::Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if components.is_empty() {
        return Ok(rustix::fs::openat2(
            root,
            ".",
            flags,
            Mode::empty(),
            RESOLVE,
        )?);
    }
    match rustix::fs::openat2(root, join(components), flags, Mode::empty(), RESOLVE) {
        Ok(fd) => return Ok(fd),
        Err(rustix::io::Errno::NOENT) if create => {}
        Err(e) => return Err(e.into()),
    }
    let mut current = rustix::fs::openat2(root, ".", flags, Mode::empty(), RESOLVE)?;
    for name in components {
        match rustix::fs::mkdirat(&current, name.as_os_str(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        current = rustix::fs::openat2(&current, name.as_os_str(), flags, Mode::empty(), RESOLVE)?;
    }
    Ok(current)
}

/// The type of `name` in `dir`, without following it; `None` when absent.
pub fn file_type_at(dir: impl AsFd, name: &OsStr) -> io::Result<Option<FileType>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` in `dir` whatever it is (a directory with all its contents); absent is fine.
pub fn remove_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    match file_type_at(dir, name)? {
        None => Ok(()),
        Some(FileType::Directory) => {
            let child = rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            clear_dir(&child)?;
            Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
        }
        Some(_) => Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?),
    }
}

/// Removes everything inside the directory `dir` (opened for reading).
pub fn clear_dir(dir: &OwnedFd) -> io::Result<()> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_owned());
        }
    }
    for name in names {
        remove_at(dir, &name)?;
    }
    Ok(())
}
