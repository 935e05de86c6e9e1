//! The local driver's `type`/`o`/`device` options (`docker volume create -o type=tmpfs
//! -o device=tmpfs -o o=size=10m`): the filesystem is mounted on the volume's `_data` while at
//! least one container uses the volume, as Docker's local driver does.

use std::collections::HashMap;
use std::path::Path;

use rustix::mount::{MountFlags, UnmountFlags};

use super::VolumeError;

/// `o=` words that are mount flags; everything else is filesystem data.
const FLAGS: &[(&str, MountFlags)] = &[
    ("ro", MountFlags::RDONLY),
    ("bind", MountFlags::BIND),
    ("rbind", MountFlags::BIND.union(MountFlags::REC)),
    ("nosuid", MountFlags::NOSUID),
    ("nodev", MountFlags::NODEV),
    ("noexec", MountFlags::NOEXEC),
    ("sync", MountFlags::SYNCHRONOUS),
    ("noatime", MountFlags::NOATIME),
    ("nodiratime", MountFlags::NODIRATIME),
    ("relatime", MountFlags::RELATIME),
    ("strictatime", MountFlags::STRICTATIME),
];

/// Words that only undo a flag (the default already).
const NO_OPS: &[&str] = &["rw", "suid", "dev", "exec", "async", "atime", "defaults"];

/// Mounts the volume's filesystem on `data` (nothing to do without options).
pub fn activate(data: &Path, options: &HashMap<String, String>) -> Result<(), VolumeError> {
    let (Some(typ), Some(device)) = (options.get("type"), options.get("device")) else {
        return Ok(());
    };
    let mut flags = MountFlags::empty();
    let mut data_words: Vec<&str> = Vec::new();
    for word in options
        .get("o")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
        .filter(|w| !w.is_empty())
    {
        if let Some((_, flag)) = FLAGS.iter().find(|(name, _)| *name == word) {
            flags |= *flag;
        } else if !NO_OPS.contains(&word) {
            data_words.push(word);
        }
    }
    let fail = |e: rustix::io::Errno| VolumeError::Io {
        what: "mounting the volume's filesystem on",
        path: data.to_path_buf(),
        source: e.into(),
    };
    if flags.contains(MountFlags::BIND) {
        let recursive = flags.contains(MountFlags::REC);
        if recursive {
            rustix::mount::mount_bind_recursive(device.as_str(), data).map_err(fail)?;
        } else {
            rustix::mount::mount_bind(device.as_str(), data).map_err(fail)?;
        }
        if flags.contains(MountFlags::RDONLY) {
            let remount = rustix::mount::mount_remount(
                data,
                MountFlags::BIND | (flags & !(MountFlags::REC | MountFlags::BIND)),
                "",
            );
            if let Err(e) = remount {
                deactivate(data);
                return Err(fail(e));
            }
        }
        return Ok(());
    }
    let data_words = std::ffi::CString::new(data_words.join(",")).map_err(|_| {
        VolumeError::InvalidLocalOptions {
            reason: "the o option contains a NUL byte",
        }
    })?;
    rustix::mount::mount(
        device.as_str(),
        data,
        typ.as_str(),
        flags,
        data_words.as_c_str(),
    )
    .map_err(fail)
}

/// Unmounts whatever is mounted on `data` (nothing when nothing is).
pub fn deactivate(data: &Path) {
    while rustix::mount::unmount(data, UnmountFlags::DETACH).is_ok() {}
}
