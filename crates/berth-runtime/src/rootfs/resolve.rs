//! Resolving (and creating) spec paths inside the rootfs without ever escaping it.
//!
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` makes the kernel treat the rootfs as `/`
//! for symlinks and `..`. Callers then mount onto `/proc/self/fd/N` of the returned `O_PATH` fd,
//! so nothing can swap the path between the check and the mount. If the kernel lacks openat2
//! (ENOSYS) a userspace walk holding an fd per component gives the same answer.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{FileType, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::sys::{self, SysError, SysResult};

/// Linux's limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;

static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// What to create at a missing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// A directory (the rootfs, or `/` after pivot) that spec paths are resolved inside.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    pub fn at(path: &Path) -> SysResult<Root> {
        Ok(Root {
            fd: sys::open_dir_path(path)?,
            path: path.to_path_buf(),
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens `path` (container-absolute or relative to the root) as an `O_PATH` fd.
    /// `no_symlinks` refuses any symlink on the way (ELOOP), for proc and sysfs targets.
    pub fn open(&self, path: &Path, no_symlinks: bool) -> Result<OwnedFd, Errno> {
        let rel = relative(path);
        let flags = OFlags::PATH;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let mut resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
            if no_symlinks {
                resolve |= ResolveFlags::NO_SYMLINKS;
            }
            match sys::openat2(self.fd(), rel, flags, resolve) {
                Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
                other => return other,
            }
        }
        walk_in_root(self.fd(), rel, no_symlinks)
    }

    /// Like [`Root::open`], creating missing components as directories (the last one as `kind`),
    /// mode 0755 like runc's MkdirAll. Dangling symlinks are followed inside the root.
    pub fn open_or_create(&self, path: &Path, kind: Kind, no_symlinks: bool) -> SysResult<OwnedFd> {
        let err = |call, errno| SysError {
            call,
            path: self.display(path),
            errno,
        };
        match self.open(path, no_symlinks) {
            Err(Errno::NOENT) => {}
            other => return other.map_err(|e| err("openat2", e)),
        }
        let mut wanted = relative(path).to_path_buf();
        for _ in 0..MAX_SYMLINKS {
            match self.create_missing(&wanted, kind, no_symlinks) {
                Ok(fd) => return Ok(fd),
                Err(Created::Redirect(next)) => wanted = next,
                Err(Created::Failed(call, errno)) => return Err(err(call, errno)),
            }
        }
        Err(err("openat2", Errno::LOOP))
    }

    /// Finds the deepest existing ancestor of `rel` (searching upwards: usually the parent),
    /// then creates the missing components below it. A component that exists but cannot be
    /// opened is a dangling symlink: we return the path with that symlink substituted so the
    /// caller restarts from the root.
    fn create_missing(
        &self,
        rel: &Path,
        kind: Kind,
        no_symlinks: bool,
    ) -> Result<OwnedFd, Created> {
        let failed = |call| move |e| Created::Failed(call, e);
        let components: Vec<Component<'_>> = rel.components().collect();
        let mut existing = components.len();
        let mut parent = loop {
            if existing == 0 {
                break self
                    .open(Path::new(""), no_symlinks)
                    .map_err(failed("openat2"))?;
            }
            existing -= 1;
            let prefix: PathBuf = components[..existing].iter().collect();
            match self.open(&prefix, no_symlinks) {
                Ok(fd) => break fd,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(Created::Failed("openat2", e)),
            }
        };
        let mut prefix: PathBuf = components[..existing].iter().collect();
        for (i, component) in components.iter().enumerate().skip(existing) {
            prefix.push(component);
            let Component::Normal(name) = component else {
                // `..` below a directory we just made: let the kernel resolve it.
                parent = self.open(&prefix, no_symlinks).map_err(failed("openat2"))?;
                continue;
            };
            let file = i + 1 == components.len() && kind == Kind::File;
            let made = if file {
                sys::mknodat(parent.as_fd(), name, FileType::RegularFile, 0o755, 0)
            } else {
                sys::mkdirat(parent.as_fd(), name, 0o755)
            };
            match made {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(Created::Failed(if file { "mknodat" } else { "mkdirat" }, e)),
            }
            if made.is_err() {
                // A dangling symlink (or a racing creator): follow the link inside the root.
                if let Ok(target) = sys::readlinkat(parent.as_fd(), name) {
                    if no_symlinks {
                        return Err(Created::Failed("openat2", Errno::LOOP));
                    }
                    let mut next = match target.strip_prefix("/") {
                        Ok(abs) => abs.to_path_buf(),
                        Err(_) => prefix.parent().unwrap_or(Path::new("")).join(&target),
                    };
                    next.extend(&components[i + 1..]);
                    return Err(Created::Redirect(next));
                }
            }
            parent = self.open(&prefix, no_symlinks).map_err(failed("openat2"))?;
        }
        Ok(parent)
    }

    /// The host-side path of a container path, for error messages.
    pub fn display(&self, path: &Path) -> PathBuf {
        self.path.join(relative(path))
    }
}

/// Creates (if missing) directory `name` right inside `parent` and opens it, refusing any
/// symlink or escape: for directories inside a mount we just made (the cgroup tmpfs).
pub fn child_dir(parent: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd, (&'static str, Errno)> {
    match sys::mkdirat(parent, name, 0o755) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(("mkdirat", e)),
    }
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        match sys::openat2(parent, Path::new(name), OFlags::PATH, resolve) {
            Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            other => return other.map_err(|e| ("openat2", e)),
        }
    }
    // One plain component, opened without following a symlink, cannot leave `parent`.
    if Path::new(name).components().count() != 1 || name == ".." || name == "." {
        return Err(("openat", Errno::INVAL));
    }
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY;
    sys::openat(parent, Path::new(name), flags).map_err(|e| ("openat", e))
}

/// Opens `rel` below `dir` for writing without following any symlink or leaving `dir` (the
/// sysctl files under /proc/sys).
pub fn open_beneath_for_write(dir: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let resolve = ResolveFlags::BENEATH
            | ResolveFlags::NO_SYMLINKS
            | ResolveFlags::NO_MAGICLINKS
            | ResolveFlags::NO_XDEV;
        match sys::openat2(dir, rel, OFlags::WRONLY, resolve) {
            Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            other => return other,
        }
    }
    let fd = walk_in_root(dir, rel, true)?;
    sys::reopen(fd.as_fd(), OFlags::WRONLY)
}

enum Created {
    Redirect(PathBuf),
    Failed(&'static str, Errno),
}

/// `path` without its leading `/` (container paths are relative to the root).
pub fn relative(path: &Path) -> &Path {
    let mut rel = path;
    while let Ok(stripped) = rel.strip_prefix("/") {
        if stripped == rel {
            break;
        }
        rel = stripped;
    }
    rel
}

/// The ENOSYS fallback: resolves `rel` one component at a time, holding an `O_PATH` fd for
/// each directory (so a swapped path cannot redirect us) and handling `..` and symlinks
/// ourselves, never above `root`.
pub(crate) fn walk_in_root(
    root: BorrowedFd<'_>,
    rel: &Path,
    no_symlinks: bool,
) -> Result<OwnedFd, Errno> {
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut pending: Vec<PathBuf> = components_rev(rel);
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name.as_os_str() == ".." {
            stack.pop();
            continue;
        }
        let dir = stack.last().map(|fd| fd.as_fd()).unwrap_or(root);
        let fd = sys::openat(dir, &name, OFlags::PATH | OFlags::NOFOLLOW)?;
        let st = sys::fstat(fd.as_fd())?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            links += 1;
            if no_symlinks || links > MAX_SYMLINKS {
                return Err(Errno::LOOP);
            }
            let target = sys::readlinkat(fd.as_fd(), OsStr::new(""))?;
            if target.is_absolute() {
                stack.clear();
            }
            pending.extend(components_rev(&target));
            continue;
        }
        if !pending.is_empty() && FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(Errno::NOTDIR);
        }
        stack.push(fd);
    }
    match stack.pop() {
        Some(fd) => Ok(fd),
        None => sys::openat(root, Path::new("."), OFlags::PATH),
    }
}

/// The normal and `..` components of `path`, last first (a stack to pop from).
fn components_rev(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(PathBuf::from(n)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn same_file(a: &OwnedFd, b: &Path) -> bool {
        let sa = sys::fstat(a.as_fd()).unwrap();
        let sb = std::fs::metadata(b).unwrap();
        use std::os::unix::fs::MetadataExt;
        sa.st_ino == sb.ino() && sa.st_dev == sb.dev()
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        symlink("/", dir.path().join("evil")).unwrap();
        symlink("../../..", dir.path().join("a/up")).unwrap();
        symlink("/a/b", dir.path().join("abs")).unwrap();
        dir
    }

    #[test]
    fn fallback_walk_stays_in_root() {
        let dir = tree();
        let root = Root::at(dir.path()).unwrap();
        for (path, expect) in [
            ("evil", ""),
            ("a/up/a", "a"),
            ("abs/../b", "a/b"),
            ("../../a/b", "a/b"),
        ] {
            let fd = walk_in_root(root.fd(), Path::new(path), false).unwrap();
            assert!(same_file(&fd, &dir.path().join(expect)), "{path}");
            let fd = root.open(Path::new(path), false).unwrap();
            assert!(same_file(&fd, &dir.path().join(expect)), "openat2 {path}");
        }
        assert_eq!(
            walk_in_root(root.fd(), Path::new("evil"), true).unwrap_err(),
            Errno::LOOP
        );
    }

    #[test]
    fn fallback_write_beneath_refuses_symlinks() {
        let dir = tree();
        std::fs::write(dir.path().join("a/b/value"), b"0").unwrap();
        let root = Root::at(dir.path()).unwrap();
        let fd = walk_in_root(root.fd(), Path::new("a/b/value"), true).unwrap();
        let fd = sys::reopen(fd.as_fd(), OFlags::WRONLY).unwrap();
        sys::write_all(fd.as_fd(), b"1").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/b/value")).unwrap(), b"1");
        let err = walk_in_root(root.fd(), Path::new("abs/value"), true).unwrap_err();
        assert_eq!(err, Errno::LOOP);
        assert!(open_beneath_for_write(root.fd(), Path::new("abs/value")).is_err());
    }

    #[test]
    fn create_through_symlinks_and_dangling_links() {
        let dir = tree();
        symlink("../made/here", dir.path().join("a/dangling")).unwrap();
        let root = Root::at(dir.path()).unwrap();
        root.open_or_create(Path::new("/evil/x/y"), Kind::Dir, false)
            .unwrap();
        assert!(dir.path().join("x/y").is_dir());
        root.open_or_create(Path::new("/a/dangling/file"), Kind::File, false)
            .unwrap();
        assert!(dir.path().join("made/here/file").is_file());
        let err = root
            .open_or_create(Path::new("/evil/z"), Kind::Dir, true)
            .unwrap_err();
        assert_eq!(err.errno, Errno::LOOP);
    }
}
