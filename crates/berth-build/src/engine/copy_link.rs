//! COPY --from a snapshot chain into a direct workspace: a regular file is hardlinked from the
//! layer directory that holds it instead of copied, when the link is exactly what the copy
//! would make (same bytes, mode, owner, mtime; no xattrs; no new links inside the layer).
//!
//! Which layer: overlayfs resolves a path top down, and a file it shows comes from the
//! highest layer holding that path (any higher layer holding it has every ancestor as a
//! directory, so it would be merged in and win). So the first layer dir, top first, with an
//! entry at the path is the candidate; its inode number must then equal the one the overlay
//! reported (all layers share one filesystem, where overlayfs reports lower files' real inode
//! numbers), which proves it is the file the copy would have read.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// The source chain's layer dirs (top first), opened once per COPY as they are first needed.
pub(super) struct LinkSource<'a> {
    layers: &'a [PathBuf],
    dirs: Vec<Option<OwnedFd>>,
}

impl<'a> LinkSource<'a> {
    pub(super) fn new(layers: &'a [PathBuf]) -> LinkSource<'a> {
        LinkSource {
            layers,
            dirs: (0..layers.len()).map(|_| None).collect(),
        }
    }

    /// Links `dest` (which should not exist) to the layer file behind `rel` (a path below the
    /// source root, whose overlay metadata is `meta`). `Ok(false)`: not linkable, copy it;
    /// an `AlreadyExists` error: `dest` exists (remove it and try again).
    pub(super) fn link(
        &mut self,
        rel: &Path,
        meta: &fs::Metadata,
        dest: &Path,
    ) -> io::Result<bool> {
        let Some(file) = self.resolve(rel) else {
            return Ok(false);
        };
        if !same_file(&file, meta) {
            return Ok(false);
        }
        match rustix::fs::linkat(&file, "", CWD, dest, AtFlags::EMPTY_PATH) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) => Err(io::Error::from(Errno::EXIST)),
            // EXDEV, EPERM, ENOENT, EMLINK…: the copy does it (and reports real errors).
            Err(_) => Ok(false),
        }
    }

    /// An `O_PATH` descriptor of `rel` in the topmost layer that has an entry there, opened
    /// beneath that layer's dir without following any symlink (so a symlinked ancestor in
    /// some layer never leads out of it); `None` when no layer has it or it cannot be opened.
    fn resolve(&mut self, rel: &Path) -> Option<OwnedFd> {
        if rel.as_os_str().is_empty() || rel.is_absolute() {
            return None;
        }
        for index in 0..self.layers.len() {
            let dir = self.dir(index)?;
            match rustix::fs::openat2(
                dir,
                rel,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => return Some(fd),
                Err(Errno::NOENT) => continue,
                // A non-directory or symlink on the way in this layer: not a plain lookup.
                Err(_) => return None,
            }
        }
        None
    }

    fn dir(&mut self, index: usize) -> Option<&OwnedFd> {
        if self.dirs[index].is_none() {
            let fd = rustix::fs::open(
                &self.layers[index],
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            self.dirs[index] = Some(fd);
        }
        self.dirs[index].as_ref()
    }
}

/// Whether the layer file `file` is the regular file the overlay showed as `meta`, linked
/// nowhere else (`nlink` 1) and without xattrs (the copy carries none).
fn same_file(file: &OwnedFd, meta: &fs::Metadata) -> bool {
    let Ok(st) = rustix::fs::fstat(file) else {
        return false;
    };
    // A whiteout is a character device: not a regular file.
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return false;
    }
    let same = st.st_ino == meta.ino()
        && st.st_size as u64 == meta.size()
        && st.st_mode == meta.mode()
        && (st.st_uid, st.st_gid) == (meta.uid(), meta.gid())
        && st.st_mtime == meta.mtime()
        && st.st_mtime_nsec as i64 == meta.mtime_nsec()
        && st.st_nlink == 1;
    same && has_no_xattrs(file)
}

/// `flistxattr` for an `O_PATH` descriptor (which `flistxattr` refuses), through its
/// `/proc/self/fd` link. Root also sees `trusted.*`, so overlayfs' own (metacopy, redirect,
/// origin) count too.
fn has_no_xattrs(file: &OwnedFd) -> bool {
    let proc = format!("/proc/self/fd/{}", file.as_fd().as_raw_fd());
    matches!(rustix::fs::listxattr_query(proc.as_str()), Ok(0))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// Layer dirs `top` and `low` plus an empty destination dir, in a temp dir on the
    /// filesystem of `/` (where `/etc/passwd` is, so a link there would succeed).
    fn layers() -> (tempfile::TempDir, Vec<PathBuf>, PathBuf) {
        let dir = tempfile::Builder::new()
            .prefix("berth-copy-link-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let dirs: Vec<PathBuf> = ["top", "low"].iter().map(|n| dir.path().join(n)).collect();
        for d in &dirs {
            fs::create_dir(d).unwrap();
        }
        let dest = dir.path().join("dest");
        fs::create_dir(&dest).unwrap();
        (dir, dirs, dest)
    }

    #[test]
    fn only_the_inode_the_overlay_showed_is_linked() {
        let (_dir, dirs, dest) = layers();
        let file = dirs[0].join("f");
        fs::write(&file, "same\n").unwrap();
        let twin = dirs[0].join("twin");
        fs::copy(&file, &twin).unwrap();
        let times =
            fs::FileTimes::new().set_modified(fs::metadata(&file).unwrap().modified().unwrap());
        fs::File::options()
            .write(true)
            .open(&twin)
            .unwrap()
            .set_times(times)
            .unwrap();
        let (meta, twin_meta) = (fs::metadata(&file).unwrap(), fs::metadata(&twin).unwrap());
        assert_eq!(
            (meta.mtime(), meta.mtime_nsec()),
            (twin_meta.mtime(), twin_meta.mtime_nsec())
        );

        let mut source = LinkSource::new(&dirs);
        // All but the inode number agree: not the file the copy read.
        assert!(
            !source
                .link(Path::new("f"), &twin_meta, &dest.join("a"))
                .unwrap()
        );
        assert!(!dest.join("a").exists());
        assert!(source.link(Path::new("f"), &meta, &dest.join("b")).unwrap());
        assert_eq!(fs::metadata(dest.join("b")).unwrap().ino(), meta.ino());
        // Now it has two names: not linked again.
        assert!(!source.link(Path::new("f"), &meta, &dest.join("c")).unwrap());
        // An existing destination is reported, never written.
        let e = LinkSource::new(&dirs).link(Path::new("twin"), &twin_meta, &dest.join("b"));
        assert_eq!(e.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn a_whiteout_in_a_higher_layer_is_not_linked() {
        let (_dir, dirs, dest) = layers();
        let low = dirs[1].join("f");
        fs::write(&low, "low\n").unwrap();
        rustix::fs::mknodat(
            CWD,
            dirs[0].join("f"),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0),
            0,
        )
        .unwrap();
        let meta = fs::metadata(&low).unwrap();
        assert!(
            !LinkSource::new(&dirs)
                .link(Path::new("f"), &meta, &dest.join("f"))
                .unwrap()
        );
        // Not even with the whiteout's own metadata.
        let whiteout = fs::symlink_metadata(dirs[0].join("f")).unwrap();
        assert!(
            !LinkSource::new(&dirs)
                .link(Path::new("f"), &whiteout, &dest.join("f"))
                .unwrap()
        );
        assert!(!dest.join("f").exists());
    }

    #[test]
    fn a_symlinked_ancestor_in_a_layer_never_leads_out_of_it() {
        let (_dir, dirs, dest) = layers();
        // The host's /etc/passwd, reached through an absolute and a relative symlink.
        symlink("/etc", dirs[0].join("abs")).unwrap();
        symlink("../../../../../../../etc", dirs[1].join("rel")).unwrap();
        let host = fs::metadata("/etc/passwd").unwrap();
        assert_eq!(host.nlink(), 1, "a lookup that escaped would link it");
        assert_eq!(host.dev(), fs::metadata(&dest).unwrap().dev(), "and could");
        let mut source = LinkSource::new(&dirs);
        for rel in [
            "abs/passwd",
            "rel/passwd",
            "../../../../../../../etc/passwd",
            "/etc/passwd",
        ] {
            let target = dest.join(rel.replace('/', "_"));
            assert!(
                !source.link(Path::new(rel), &host, &target).unwrap(),
                "{rel}"
            );
            assert!(!target.exists(), "{rel}");
        }
    }
}
