//! Mount points a RUN step needs but its rootfs lacks (`/etc/resolv.conf` in a minimal image,
//! a cache mount's target). We create them before the run and take them out again after it,
//! including the directories overlayfs copied up only to hold them, so a step's layer holds
//! what the command changed and nothing the builder needed (BuildKit's mount stub cleaner).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::paths::{clean_relative, scoped_resolve};

/// One existing directory above a stub, as it was before the run.
#[derive(Debug, Clone)]
struct Ancestor {
    /// Relative to the rootfs (and so to the upper dir); empty for the root itself.
    rel: PathBuf,
    mode: u32,
    uid: u32,
    gid: u32,
    atime: (i64, i64),
    mtime: (i64, i64),
}

#[derive(Debug, Default)]
pub struct MountStubs {
    /// What we created, parents before children (relative to the rootfs).
    created: Vec<PathBuf>,
    ancestors: Vec<Ancestor>,
}

impl MountStubs {
    /// Creates what is missing of each `(destination, is_file)` inside `rootfs`: parent
    /// directories (0755) and the mount point itself (an empty file or a directory).
    pub fn create(rootfs: &Path, targets: &[(String, bool)]) -> io::Result<MountStubs> {
        let mut stubs = MountStubs::default();
        for (destination, is_file) in targets {
            let resolved = scoped_resolve(rootfs, &clean_relative(destination), true);
            let Ok(rel) = resolved.strip_prefix(rootfs).map(Path::to_path_buf) else {
                continue;
            };
            if fs::symlink_metadata(&resolved).is_ok() {
                continue;
            }
            let parts: Vec<_> = rel.components().collect();
            let mut current = PathBuf::new();
            stubs.remember_ancestor(rootfs, &current)?;
            for (i, part) in parts.iter().enumerate() {
                current.push(part);
                let path = rootfs.join(&current);
                if fs::symlink_metadata(&path).is_ok() {
                    stubs.remember_ancestor(rootfs, &current)?;
                    continue;
                }
                if i + 1 == parts.len() && *is_file {
                    fs::File::create(&path)?;
                } else {
                    fs::create_dir(&path)?;
                }
                stubs.created.push(current.clone());
            }
        }
        Ok(stubs)
    }

    fn remember_ancestor(&mut self, rootfs: &Path, rel: &Path) -> io::Result<()> {
        if self.ancestors.iter().any(|a| a.rel == rel) {
            return Ok(());
        }
        let meta = fs::metadata(rootfs.join(rel))?;
        self.ancestors.push(Ancestor {
            rel: rel.to_path_buf(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            atime: (meta.atime(), meta.atime_nsec()),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        });
        Ok(())
    }

    /// After the run, rootfs still mounted: removes the stubs the command left as they were
    /// (empty), children first, and gives the directories above them their times back.
    pub fn remove(&self, rootfs: &Path) {
        for rel in self.created.iter().rev() {
            let path = rootfs.join(rel);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let result = if meta.is_dir() {
                fs::remove_dir(&path)
            } else if meta.is_file() && meta.len() == 0 {
                fs::remove_file(&path)
            } else {
                continue;
            };
            if let Err(error) = result {
                // Not empty: the command put something there, which belongs in the layer.
                tracing::debug!(path = %path.display(), %error, "keeping a mount stub");
            }
        }
        for ancestor in &self.ancestors {
            let path = rootfs.join(&ancestor.rel);
            if let Err(error) = set_times(&path, ancestor.atime, ancestor.mtime) {
                tracing::debug!(path = %path.display(), %error, "restoring times");
            }
        }
    }

    /// After unmount: directories overlayfs copied up only to hold a stub are empty and
    /// unchanged in `upper`; removing them keeps them out of the layer.
    pub fn prune_upper(&self, upper: &Path) {
        let mut ancestors: Vec<&Ancestor> = self
            .ancestors
            .iter()
            .filter(|a| !a.rel.as_os_str().is_empty())
            .collect();
        ancestors.sort_by_key(|a| std::cmp::Reverse(a.rel.components().count()));
        for ancestor in ancestors {
            let path = upper.join(&ancestor.rel);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let unchanged = meta.is_dir()
                && meta.mode() == ancestor.mode
                && meta.uid() == ancestor.uid
                && meta.gid() == ancestor.gid
                && (meta.mtime(), meta.mtime_nsec()) == ancestor.mtime
                && !is_opaque(&path)
                && fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none());
            if unchanged && let Err(error) = fs::remove_dir(&path) {
                tracing::debug!(path = %path.display(), %error, "pruning a copied-up directory");
            }
        }
    }
}

fn set_times(path: &Path, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, utimensat};
    let spec = |(sec, nsec): (i64, i64)| Timespec {
        tv_sec: sec,
        tv_nsec: nsec as _,
    };
    let times = Timestamps {
        last_access: spec(atime),
        last_modification: spec(mtime),
    };
    utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(io::Error::from)
}

fn is_opaque(dir: &Path) -> bool {
    let mut buf = [0u8; 4];
    rustix::fs::lgetxattr(dir, "trusted.overlay.opaque", &mut buf[..]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_removes_only_what_was_missing() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("etc")).unwrap();
        fs::write(root.path().join("etc/hosts"), "kept\n").unwrap();
        let stubs = MountStubs::create(
            root.path(),
            &[
                ("/etc/hosts".into(), true),
                ("/etc/resolv.conf".into(), true),
                ("/var/cache/x".into(), false),
            ],
        )
        .unwrap();
        assert!(root.path().join("etc/resolv.conf").is_file());
        assert!(root.path().join("var/cache/x").is_dir());
        stubs.remove(root.path());
        assert_eq!(
            fs::read_to_string(root.path().join("etc/hosts")).unwrap(),
            "kept\n"
        );
        assert!(!root.path().join("etc/resolv.conf").exists());
        assert!(!root.path().join("var").exists());
    }

    #[test]
    fn keeps_what_the_command_filled() {
        let root = tempfile::tempdir().unwrap();
        let stubs = MountStubs::create(root.path(), &[("/cache/dir".into(), false)]).unwrap();
        fs::write(root.path().join("cache/other"), "x").unwrap();
        stubs.remove(root.path());
        assert!(!root.path().join("cache/dir").exists());
        assert!(root.path().join("cache/other").is_file());
    }
}
