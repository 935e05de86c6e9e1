//! Writes a directory tree as a tar stream by walking file descriptors: every child is opened
//! relative to its parent's fd with `O_NOFOLLOW`, so a container swapping a directory for a
//! symlink mid-walk cannot redirect the daemon out of its rootfs. Symlinks are archived as
//! links, hard links once (later names become link entries), sockets are skipped (as tar does).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};

pub struct TarWalker<W: Write> {
    builder: tar::Builder<W>,
    /// (dev, ino) of multiply-linked files already written → their archive path.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> TarWalker<W> {
    pub fn new(out: W) -> TarWalker<W> {
        let mut builder = tar::Builder::new(out);
        builder.mode(tar::HeaderMode::Complete);
        TarWalker {
            builder,
            links: HashMap::new(),
        }
    }

    /// Archives `name` in the directory `parent` (a readable directory fd) as `tar_path`, and
    /// everything below it.
    pub fn append_at(&mut self, parent: &OwnedFd, name: &OsStr, tar_path: &Path) -> io::Result<()> {
        let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                let dir = rustix::fs::openat(
                    parent,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                self.append_dir(&dir, tar_path, true)
            }
            FileType::RegularFile => {
                let file = rustix::fs::openat(
                    parent,
                    name,
                    // NONBLOCK: swapped for a FIFO after the stat, it must not hang us.
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
                    Mode::empty(),
                )?;
                self.append_file(file, tar_path)
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(parent, name, Vec::new())?;
                let mut header = header_for(&st, tar::EntryType::Symlink);
                self.builder.append_link(
                    &mut header,
                    tar_path,
                    OsStr::from_bytes(target.as_bytes()),
                )
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                let kind = match FileType::from_raw_mode(st.st_mode) {
                    FileType::CharacterDevice => tar::EntryType::Char,
                    FileType::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                let mut header = header_for(&st, kind);
                header.set_device_major(rustix::fs::major(st.st_rdev))?;
                header.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                self.builder.append_data(&mut header, tar_path, io::empty())
            }
            FileType::Socket | FileType::Unknown => Ok(()),
        }
    }

    /// Archives the directory `dir` (a readable fd) as `tar_path` (unless `with_self` is false:
    /// then only its contents, named relative to it) and its contents, sorted by name.
    pub fn append_dir(
        &mut self,
        dir: &OwnedFd,
        tar_path: &Path,
        with_self: bool,
    ) -> io::Result<()> {
        if with_self {
            let st = rustix::fs::fstat(dir)?;
            let mut header = header_for(&st, tar::EntryType::Directory);
            self.builder
                .append_data(&mut header, tar_path, io::empty())?;
        }
        for name in sorted_names(dir)? {
            let child = tar_path.join(&name);
            match self.append_at(dir, &name, &child) {
                // Gone while we walked (a container deleting files): skip it, as tar does.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Archives an opened regular file; the header comes from the open fd, and a file that
    /// shrinks while read is padded so the archive stays well-formed.
    pub fn append_file(&mut self, file: OwnedFd, tar_path: &Path) -> io::Result<()> {
        let st = rustix::fs::fstat(&file)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            // Replaced by something else since it was looked at: skip it.
            return Ok(());
        }
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                let mut header = header_for(&st, tar::EntryType::Link);
                header.set_size(0);
                let first = first.clone();
                return self.builder.append_link(&mut header, tar_path, first);
            }
            self.links.insert(key, tar_path.to_path_buf());
        }
        let mut header = header_for(&st, tar::EntryType::Regular);
        let size = st.st_size as u64;
        let reader = File::from(file).take(size).chain(io::repeat(0)).take(size);
        self.builder.append_data(&mut header, tar_path, reader)
    }

    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

fn header_for(st: &Stat, kind: tar::EntryType) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(st.st_mode & 0o7777);
    header.set_uid(u64::from(st.st_uid));
    header.set_gid(u64::from(st.st_gid));
    header.set_mtime(st.st_mtime.max(0) as u64);
    header.set_size(if kind == tar::EntryType::Regular {
        st.st_size as u64
    } else {
        0
    });
    header
}

/// Entry names of a directory fd, without `.` and `..`, sorted.
pub fn sorted_names(dir: &impl AsFd) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_owned());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_a_tree_without_following_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("d/sub")).unwrap();
        std::fs::write(r.join("d/a.txt"), "alpha").unwrap();
        std::fs::hard_link(r.join("d/a.txt"), r.join("d/sub/hard")).unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("d/escape")).unwrap();
        let parent =
            rustix::fs::open(r, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let mut walker = TarWalker::new(Vec::new());
        walker
            .append_at(&parent, OsStr::new("d"), Path::new("d"))
            .unwrap();
        let bytes = walker.finish().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let kind = entry.header().entry_type();
            let mut body = String::new();
            entry.read_to_string(&mut body).unwrap();
            seen.push((path, kind, body));
        }
        let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["d", "d/a.txt", "d/escape", "d/sub", "d/sub/hard"]);
        assert_eq!(seen[1].2, "alpha");
        assert_eq!(seen[2].1, tar::EntryType::Symlink);
        assert_eq!(seen[4].1, tar::EntryType::Link);
        assert!(!seen.iter().any(|s| s.2.contains("host")));
    }
}
