//! Validation of `linux.cgroupsPath`: it must name a cgroup strictly inside the hierarchy.

use std::path::{Component, Path, PathBuf};

use crate::CgroupError;

/// A validated cgroups path: normalized, relative components, never escaping its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupPath {
    /// Absolute paths are relative to the hierarchy root; relative ones to our own cgroup.
    pub absolute: bool,
    pub relative: PathBuf,
}

impl CgroupPath {
    pub fn parse(raw: &str) -> Result<Self, CgroupError> {
        let invalid = |reason| CgroupError::InvalidPath {
            path: raw.to_owned(),
            reason,
        };
        if raw.contains('\0') {
            return Err(invalid("contains a NUL byte"));
        }
        let mut relative = PathBuf::new();
        for component in Path::new(raw).components() {
            match component {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(name) => relative.push(name),
                Component::ParentDir => return Err(invalid("`..` would escape the hierarchy")),
                Component::Prefix(_) => return Err(invalid("unexpected path prefix")),
            }
        }
        if relative.as_os_str().is_empty() {
            return Err(invalid("names the hierarchy root, not a container cgroup"));
        }
        Ok(CgroupPath {
            absolute: raw.starts_with('/'),
            relative,
        })
    }

    /// The directory of this cgroup under a hierarchy mounted at `mountpoint`, which shows the
    /// hierarchy from `mount_root`; `own` is this process's cgroup in that hierarchy.
    pub fn resolve(&self, mountpoint: &Path, mount_root: &str, own: &str) -> PathBuf {
        if self.absolute {
            return mountpoint.join(&self.relative);
        }
        let own_in_mount = own.strip_prefix(mount_root).unwrap_or(own);
        mountpoint
            .join(own_in_mount.trim_start_matches('/'))
            .join(&self.relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escapes_and_root() {
        for bad in ["/../etc", "a/../../b", "/", "", "/./", "a\0b", "/x/.."] {
            assert!(
                matches!(CgroupPath::parse(bad), Err(CgroupError::InvalidPath { .. })),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn normalizes_and_resolves() {
        let p = CgroupPath::parse("/berth//c1/./x").unwrap();
        assert!(p.absolute);
        assert_eq!(p.relative, PathBuf::from("berth/c1/x"));
        let dir = p.resolve(Path::new("/sys/fs/cgroup/memory"), "/", "/ignored");
        assert_eq!(dir, PathBuf::from("/sys/fs/cgroup/memory/berth/c1/x"));

        let rel = CgroupPath::parse("c2").unwrap();
        assert!(!rel.absolute);
        let dir = rel.resolve(Path::new("/sys/fs/cgroup/memory"), "/", "/svc/a");
        assert_eq!(dir, PathBuf::from("/sys/fs/cgroup/memory/svc/a/c2"));
        let ns = rel.resolve(
            Path::new("/sys/fs/cgroup/memory"),
            "/docker/x",
            "/docker/x/y",
        );
        assert_eq!(ns, PathBuf::from("/sys/fs/cgroup/memory/y/c2"));
    }
}
