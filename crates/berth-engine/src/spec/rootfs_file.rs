//! Reading a file of the container's rootfs (its /etc/passwd, /etc/group) as the container
//! would see it: `openat2(RESOLVE_IN_ROOT)` keeps symlinks and `..` inside the rootfs, so an
//! image cannot make the daemon read the host's files.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::SpecError;

/// More than any real passwd/group file; stops a hostile image from making us read gigabytes.
const MAX_BYTES: u64 = 16 << 20;

/// The contents of container path `path` (absolute) in `rootfs`, or `None` if it does not
/// exist there. Anything but a regular file is an error.
pub fn read(rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    let fail = |errno: Errno| SpecError::ReadRootfsFile {
        path: rootfs.join(path.trim_start_matches('/')),
        source: errno.into(),
    };
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail)?;
    // NONBLOCK: a FIFO planted at /etc/passwd must not hang the daemon.
    let fd = match rustix::fs::openat2(
        root.as_fd(),
        path.trim_start_matches('/'),
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let stat = rustix::fs::fstat(&fd).map_err(fail)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(fail(Errno::INVAL));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| SpecError::ReadRootfsFile {
            path: rootfs.join(path.trim_start_matches('/')),
            source,
        })?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}
