//! Docker's check that a bind's propagation can take effect: `shared`/`rshared` need the
//! source to sit on a shared mount, `slave`/`rslave` on a shared or slave one. Without it the
//! mode would silently do nothing (on a private root, say).

use std::path::{Path, PathBuf};

use super::VolumeError;

/// What the mount holding a path propagates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HoldingMount {
    mount_point: PathBuf,
    shared: bool,
    slave: bool,
}

/// Fails when `propagation` cannot work for a bind of `source` (which exists).
pub fn check(source: &Path, propagation: &str) -> Result<(), VolumeError> {
    let needs = match propagation {
        "shared" | "rshared" => "a shared",
        "slave" | "rslave" => "a shared or slave",
        _ => return Ok(()),
    };
    let source = source
        .canonicalize()
        .map_err(VolumeError::io("resolving", source))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(VolumeError::io("reading", "/proc/self/mountinfo"))?;
    let Some(holder) = holding_mount(&mountinfo, &source) else {
        return Ok(());
    };
    let fine = holder.shared || (needs == "a shared or slave" && holder.slave);
    if fine {
        return Ok(());
    }
    Err(VolumeError::PropagationUnavailable {
        path: source,
        mount_point: holder.mount_point,
        needs,
    })
}

/// The last-mounted, deepest mount point that holds `path`.
fn holding_mount(mountinfo: &str, path: &Path) -> Option<HoldingMount> {
    let mut best: Option<HoldingMount> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mount_point) = fields.get(4).map(|m| PathBuf::from(unescape(m))) else {
            continue;
        };
        if !path.starts_with(&mount_point) {
            continue;
        }
        // Optional fields run from the 7th up to the "-" separator.
        let optional = fields.iter().skip(6).take_while(|f| **f != "-");
        let (mut shared, mut slave) = (false, false);
        for field in optional {
            shared |= field.starts_with("shared:");
            slave |= field.starts_with("master:");
        }
        let deeper = best
            .as_ref()
            .is_none_or(|b| mount_point.as_os_str().len() >= b.mount_point.as_os_str().len());
        if deeper {
            best = Some(HoldingMount {
                mount_point,
                shared,
                slave,
            });
        }
    }
    best
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /srv rw shared:7 - tmpfs tmpfs rw
41 40 0:51 / /srv/slave\\040dir rw master:7 - tmpfs tmpfs rw
42 27 0:52 / /srvx rw shared:9 - tmpfs tmpfs rw";

    fn holder(path: &str) -> HoldingMount {
        holding_mount(MOUNTINFO, Path::new(path)).unwrap()
    }

    #[test]
    fn finds_the_deepest_mount_and_its_propagation() {
        let root = holder("/home/x");
        assert_eq!(root.mount_point, Path::new("/"));
        assert!(!root.shared && !root.slave);
        let srv = holder("/srv/data");
        assert_eq!(srv.mount_point, Path::new("/srv"));
        assert!(srv.shared);
        let slave = holder("/srv/slave dir/x");
        assert_eq!(slave.mount_point, Path::new("/srv/slave dir"));
        assert!(slave.slave && !slave.shared);
        // A sibling whose name merely starts the same is not a parent.
        assert_eq!(holder("/srvy").mount_point, Path::new("/"));
    }

    #[test]
    fn private_sources_refuse_shared_and_slave_modes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check(dir.path(), "rprivate").is_ok());
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let holder = holding_mount(&mountinfo, &dir.path().canonicalize().unwrap()).unwrap();
        let shared = check(dir.path(), "rshared");
        assert_eq!(shared.is_ok(), holder.shared, "{shared:?}");
        let slave = check(dir.path(), "rslave");
        assert_eq!(slave.is_ok(), holder.shared || holder.slave, "{slave:?}");
    }
}
