//! Paths inside a container's rootfs, resolved by the kernel as if the rootfs were `/`
//! (`openat2(RESOLVE_IN_ROOT)`): `..` and absolute symlinks stay inside, so a hostile container
//! cannot make the daemon read or write host files through a symlink it planted.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Opens the rootfs directory itself (the anchor of every resolution).
pub fn open_root(rootfs: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `path` (absolute or relative, as the container sees it) inside `root`. Without
/// `follow_last`, a symlink as the last component is opened itself (with `OFlags::PATH`).
pub fn open_in_root(
    root: &OwnedFd,
    path: &str,
    flags: OFlags,
    follow_last: bool,
) -> io::Result<OwnedFd> {
    let relative = relative(path);
    let mut flags = flags | OFlags::CLOEXEC;
    if !follow_last {
        flags |= OFlags::NOFOLLOW;
    }
    Ok(rustix::fs::openat2(
        root,
        relative.as_os_str(),
        flags,
        Mode::empty(),
        IN_ROOT,
    )?)
}

/// The path without leading slashes (`openat2` resolves it from `root` either way, but a
/// relative spelling reads better in errors), `.` for the root itself.
pub fn relative(path: &str) -> OsString {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        OsString::from(".")
    } else {
        OsString::from(trimmed)
    }
}

/// Reads a whole small file inside `root` (e.g. `/etc/passwd`); `None` when absent.
pub fn read_small_file(root: &OwnedFd, path: &str, limit: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    // NONBLOCK: a FIFO planted at the path must not hang the daemon.
    let fd = match open_in_root(root, path, OFlags::RDONLY | OFlags::NONBLOCK, true) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut data = Vec::new();
    std::fs::File::from(fd).take(limit).read_to_end(&mut data)?;
    Ok(Some(data))
}

/// The last component of `path` as Docker names the top entry of an archive (`/a/b/` → `b`,
/// `/` → `/`).
pub fn base_name(path: &str) -> OsString {
    let trimmed = path.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/.").unwrap_or(trimmed);
    match trimmed.rsplit('/').next() {
        Some(name) if !name.is_empty() => OsString::from(name),
        _ => OsString::from(std::ffi::OsStr::from_bytes(b"/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_dotdot_stay_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/secret"), "container").unwrap();
        let host_dir = outside.path().display().to_string();
        std::os::unix::fs::symlink(&host_dir, root.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", root.path().join("up")).unwrap();
        std::os::unix::fs::symlink(format!("{host_dir}/secret"), root.path().join("etc/link"))
            .unwrap();
        let fd = open_root(root.path()).unwrap();
        let read = |p: &str| {
            read_small_file(&fd, p, 100)
                .unwrap()
                .map(|d| String::from_utf8(d).unwrap())
        };
        // An absolute symlink to the host dir resolves inside the root, where it does not exist.
        assert_eq!(read("/abs/secret"), None);
        // `..` above the root stops at the root.
        assert_eq!(read("/up/etc/secret").as_deref(), Some("container"));
        assert_eq!(read("../../etc/secret").as_deref(), Some("container"));
        assert_eq!(read("/etc/link"), None);
        // Not following the last component opens the link itself.
        let link = open_in_root(&fd, "/etc/link", OFlags::PATH, false).unwrap();
        let st = rustix::fs::fstat(&link).unwrap();
        assert_eq!(
            rustix::fs::FileType::from_raw_mode(st.st_mode),
            rustix::fs::FileType::Symlink
        );
    }

    #[test]
    fn names_archive_tops_like_docker() {
        assert_eq!(base_name("/a/b"), "b");
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("/a/b/."), "b");
        assert_eq!(base_name("/"), "/");
        assert_eq!(relative("/"), ".");
        assert_eq!(relative("/x/y"), "x/y");
    }
}
