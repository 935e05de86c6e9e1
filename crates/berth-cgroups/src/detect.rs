//! Finds the host's cgroup layout from /proc/self/mountinfo and /proc/self/cgroup, once per
//! process (cached): the runtime asks for a manager per container and must stay fast.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{CgroupError, Hierarchy};

/// One cgroup v1 hierarchy mount (possibly several co-mounted controllers, e.g. `cpu,cpuacct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mount {
    pub mountpoint: PathBuf,
    /// The part of the hierarchy this mount shows (`/` unless inside a cgroup namespace).
    pub root: String,
    /// Controller names, including named hierarchies as `name=systemd`.
    pub controllers: Vec<String>,
}

/// Everything detection learned about the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostCgroups {
    pub hierarchy: Hierarchy,
    pub v1: Vec<V1Mount>,
    pub v2: Option<PathBuf>,
    /// This process's cgroup per v1 controller (`""` key for the v2 entry), from /proc/self/cgroup.
    pub own_paths: BTreeMap<String, String>,
}

impl V1Mount {
    /// Whether this hierarchy carries every controller of a `/proc/<pid>/cgroup` line
    /// (`cpu,cpuacct`, `name=systemd`, ...).
    pub fn serves(&self, controllers: &str) -> bool {
        controllers
            .split(',')
            .all(|c| self.controllers.iter().any(|have| have == c))
    }

    /// The host directory of cgroup `path` (as `/proc/<pid>/cgroup` shows it) in this mount.
    pub fn dir_of(&self, path: &str) -> PathBuf {
        let rel = path.strip_prefix(self.root.as_str()).unwrap_or("");
        self.mountpoint.join(rel.trim_start_matches('/'))
    }
}

impl HostCgroups {
    /// The v1 mount holding `controller`.
    #[cfg(test)]
    pub fn v1_mount(&self, controller: &str) -> Option<&V1Mount> {
        self.v1
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))
    }
}

static HOST: OnceLock<HostCgroups> = OnceLock::new();

/// The cached host layout, read on first use.
pub(crate) fn host() -> Result<&'static HostCgroups, CgroupError> {
    if let Some(host) = HOST.get() {
        return Ok(host);
    }
    let mountinfo = read_proc("/proc/self/mountinfo")?;
    let own = read_proc("/proc/self/cgroup")?;
    let detected = from_proc(&mountinfo, &own)?;
    Ok(HOST.get_or_init(|| detected))
}

/// Reads a proc file in one `read` or two: proc files report size 0, and a read from an empty
/// buffer starts with a 32-byte probe and doubles from there (eight reads of mountinfo here,
/// each one regenerating the text up to its offset).
fn read_proc(path: &str) -> Result<String, CgroupError> {
    use std::io::Read;
    let mut text = String::with_capacity(16 * 1024);
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .map_err(|source| CgroupError::read(path, source))?;
    Ok(text)
}

/// Decides the layout from the two proc files' contents. A host with any real v1 controller
/// mounted is treated as v1 (a controller-less "unified" mount beside it makes it hybrid).
pub(crate) fn from_proc(mountinfo: &str, proc_cgroup: &str) -> Result<HostCgroups, CgroupError> {
    let mut v1 = Vec::new();
    let mut v2 = None;
    for line in mountinfo.lines() {
        let Some(mount) = parse_mountinfo_line(line) else {
            continue;
        };
        match mount.fstype {
            "cgroup" => v1.push(V1Mount {
                mountpoint: mount.mountpoint,
                root: mount.root,
                controllers: mount
                    .super_options
                    .split(',')
                    .filter(|o| is_controller_option(o))
                    .map(str::to_owned)
                    .collect(),
            }),
            "cgroup2" if v2.is_none() => v2 = Some(mount.mountpoint),
            _ => {}
        }
    }
    let has_v1_controllers = v1
        .iter()
        .any(|m| m.controllers.iter().any(|c| !c.starts_with("name=")));
    let hierarchy = if has_v1_controllers {
        let first = &v1
            .iter()
            .find(|m| m.controllers.iter().any(|c| !c.starts_with("name=")))
            .map(|m| m.mountpoint.clone())
            .unwrap_or_default();
        let root = first
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| first.clone());
        Hierarchy::V1 { root }
    } else if let Some(root) = &v2 {
        Hierarchy::V2 { root: root.clone() }
    } else {
        return Err(CgroupError::NoCgroupMounts);
    };
    Ok(HostCgroups {
        hierarchy,
        v1,
        v2,
        own_paths: parse_proc_cgroup(proc_cgroup),
    })
}

/// Mount options of a v1 cgroup mount that are not controller names.
fn is_controller_option(option: &str) -> bool {
    !matches!(
        option,
        "rw" | "ro" | "noprefix" | "clone_children" | "xattr" | "cpuset_v2_mode"
    ) && !option.starts_with("release_agent=")
        && !option.is_empty()
}

struct MountLine<'a> {
    root: String,
    mountpoint: PathBuf,
    fstype: &'a str,
    super_options: &'a str,
}

/// `36 35 98:0 /root /mnt opts [optional...] - fstype source superopts`
fn parse_mountinfo_line(line: &str) -> Option<MountLine<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let fields: Vec<&str> = left.split(' ').collect();
    let mut right_fields = right.split(' ');
    let fstype = right_fields.next()?;
    let _source = right_fields.next()?;
    let super_options = right_fields.next().unwrap_or("");
    Some(MountLine {
        root: unescape(fields.get(3)?),
        mountpoint: PathBuf::from(unescape(fields.get(4)?)),
        fstype,
        super_options,
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `hierarchy-id:controller[,controller]:path` lines → controller → path (`""` for v2).
pub(crate) fn parse_proc_cgroup(content: &str) -> BTreeMap<String, String> {
    let mut paths = BTreeMap::new();
    for line in content.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            paths.insert(String::new(), path.to_owned());
        } else {
            for controller in controllers.split(',') {
                paths.insert(controller.to_owned(), path.to_owned());
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn v1_mounts_serve_their_controllers_and_map_paths() {
        let mountinfo = "\
35 26 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup rw,cpu,cpuacct
40 26 0:35 /a /sys/fs/cgroup/sys\\040temd rw - cgroup cgroup rw,xattr,name=systemd
1 2 0:1 / /x rw - tmpfs tmpfs rw
";
        let host = from_proc(mountinfo, "").unwrap();
        assert_eq!(host.v1.len(), 2);
        let cpu = &host.v1[0];
        assert_eq!(cpu.mountpoint, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(cpu.serves("cpu,cpuacct") && cpu.serves("cpu") && !cpu.serves("memory"));
        assert_eq!(
            cpu.dir_of("/user.slice/x"),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/user.slice/x")
        );
        let named = &host.v1[1];
        assert_eq!(named.mountpoint, Path::new("/sys/fs/cgroup/sys temd"));
        assert!(named.serves("name=systemd"));
        assert_eq!(named.dir_of("/a/b"), Path::new("/sys/fs/cgroup/sys temd/b"));
    }

    #[test]
    fn hybrid_host_is_v1_with_co_mounted_controllers() {
        let host = from_proc(HYBRID, "4:memory:/a/b\n0::/\n1:cpu,cpuacct:/\n").unwrap();
        assert_eq!(
            host.hierarchy,
            Hierarchy::V1 {
                root: PathBuf::from("/sys/fs/cgroup")
            }
        );
        assert_eq!(host.v2, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let cpuacct = host.v1_mount("cpuacct").unwrap();
        assert_eq!(
            cpuacct.mountpoint,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(cpuacct.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(
            host.v1_mount("net_prio").unwrap().controllers,
            vec!["net_cls", "net_prio"]
        );
        assert_eq!(
            host.v1_mount("name=systemd").unwrap().controllers,
            vec!["name=systemd"]
        );
        assert!(host.v1_mount("hugetlb").is_none());
        assert_eq!(host.own_paths["memory"], "/a/b");
        assert_eq!(host.own_paths["cpuacct"], "/");
        assert_eq!(host.own_paths[""], "/");
    }

    #[test]
    fn pure_v2_host() {
        let info =
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        let host = from_proc(info, "0::/user.slice\n").unwrap();
        assert_eq!(
            host.hierarchy,
            Hierarchy::V2 {
                root: PathBuf::from("/sys/fs/cgroup")
            }
        );
        assert!(host.v1.is_empty());
    }

    #[test]
    fn no_cgroups_is_an_error() {
        let info = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n";
        assert!(matches!(
            from_proc(info, ""),
            Err(CgroupError::NoCgroupMounts)
        ));
    }

    #[test]
    fn escaped_mountpoints_are_decoded() {
        assert_eq!(unescape(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape(r"/x\\"), r"/x\\");
    }
}
