//! Golden-ish checks of whole specs built from small configs over a fake rootfs.

use std::path::{Path, PathBuf};

use bollard_stubs::models::{ContainerConfig, HostConfig};
use oci_spec::runtime::{LinuxNamespaceType, LinuxSeccompAction, Spec};

use super::*;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
nobody:x:65534:65534:nobody:/home:/bin/false\n\
app:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &str =
    "root:x:0:\nwheel:x:10:root\nstaff:x:50:app,daemon\napp:x:1000:\nnogroup:x:65534:\n";

/// A rootfs with /etc/passwd and /etc/group, plus the host-side etc files.
pub(super) struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("rootfs/etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("passwd"), PASSWD).unwrap();
        std::fs::write(etc.join("group"), GROUP).unwrap();
        for f in ["hosts", "hostname", "resolv.conf"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        Fixture { dir }
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn build(&self, config: &ContainerConfig, host: &HostConfig) -> Result<Spec, SpecError> {
        self.build_with(config, host, None)
    }

    /// With the volume service's resolved mounts (`build_with_mounts`) when given.
    pub fn build_with(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
        resolved: Option<&[oci_spec::runtime::Mount]>,
    ) -> Result<Spec, SpecError> {
        let rootfs = self.rootfs();
        let (hosts, hostname, resolv) = (
            self.file("hosts"),
            self.file("hostname"),
            self.file("resolv.conf"),
        );
        let input = SpecInput {
            id: ID,
            config,
            host,
            rootfs: &rootfs,
            etc: EtcFiles {
                hosts: &hosts,
                hostname: &hostname,
                resolv_conf: &resolv,
            },
            cgroups_path: format!("/berth/{ID}"),
            netns: None,
        };
        match resolved {
            Some(mounts) => build_with_mounts(&input, mounts),
            None => build(&input),
        }
    }
}

pub(super) fn sh(cmd: &[&str]) -> ContainerConfig {
    ContainerConfig {
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

pub(super) fn caps_of(spec: &Spec) -> Vec<String> {
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .clone()
        .unwrap();
    let mut names: Vec<String> = caps
        .bounding()
        .clone()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

pub(super) fn mount_dests(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().display().to_string())
        .collect()
}

pub(super) fn options_of(spec: &Spec, destination: &str) -> Vec<String> {
    let m = spec
        .mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(destination))
        .unwrap_or_else(|| panic!("no mount at {destination}"));
    m.options().clone().unwrap_or_default()
}

pub(super) fn syscall_rules<'a>(
    spec: &'a Spec,
    name: &str,
) -> Vec<&'a oci_spec::runtime::LinuxSyscall> {
    let seccomp = spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
    seccomp
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == name))
        .collect()
}

#[test]
fn default_spec_is_dockers() {
    let f = Fixture::new();
    let spec = f.build(&sh(&["sh"]), &HostConfig::default()).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_deref(), Some(&["sh".to_string()][..]));
    assert_eq!(
        process.env().clone().unwrap(),
        [
            format!("PATH={DEFAULT_PATH}"),
            "HOSTNAME=0123456789ab".to_string(),
            "HOME=/root".to_string()
        ]
    );
    assert_eq!(process.cwd(), Path::new("/"));
    assert_eq!(process.terminal(), Some(false));
    assert_eq!(process.no_new_privileges(), Some(false));
    assert_eq!((process.user().uid(), process.user().gid()), (0, 0));
    assert_eq!(
        process.user().additional_gids().as_deref(),
        Some(&[0, 10][..])
    );
    let mut expected: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    expected.sort();
    assert_eq!(caps_of(&spec), expected);
    assert_eq!(spec.hostname().as_deref(), Some("0123456789ab"));
    assert_eq!(spec.root().as_ref().unwrap().path(), &f.rootfs());

    let linux = spec.linux().as_ref().unwrap();
    let ns: Vec<LinuxNamespaceType> = linux
        .namespaces()
        .iter()
        .flatten()
        .map(|n| n.typ())
        .collect();
    assert_eq!(
        &ns[..5],
        [
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc
        ]
    );
    assert_eq!(
        mount_dests(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts"
        ]
    );
    assert_eq!(
        options_of(&spec, "/dev/shm"),
        ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );
    assert_eq!(options_of(&spec, "/etc/hosts"), ["rbind", "rprivate"]);
    let masked = linux.masked_paths().clone().unwrap();
    assert_eq!(&masked[..MASKED_PATHS.len()], MASKED_PATHS);
    assert_eq!(linux.readonly_paths().clone().unwrap(), READONLY_PATHS);
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new(&format!("/berth/{ID}")))
    );
    let sysctl = linux.sysctl().clone().unwrap();
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");

    let seccomp = linux.seccomp().as_ref().unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(seccomp.default_errno_ret(), Some(1));
    assert!(!syscall_rules(&spec, "read").is_empty());
    assert!(
        syscall_rules(&spec, "unshare").is_empty(),
        "unshare needs CAP_SYS_ADMIN"
    );
    assert!(syscall_rules(&spec, "mount").is_empty());
    let clone = syscall_rules(&spec, "clone");
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0].args().as_ref().unwrap()[0].value(), 0x7E02_0000);
    let clone3 = syscall_rules(&spec, "clone3");
    assert_eq!(clone3[0].errno_ret(), Some(38));
    if cfg!(target_arch = "x86_64") {
        assert!(!syscall_rules(&spec, "arch_prctl").is_empty());
        let archs = seccomp.architectures().clone().unwrap();
        assert_eq!(archs.len(), 3);
    }
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert!(!rules[0].allow());
}

#[test]
fn privileged_gets_everything() {
    let f = Fixture::new();
    let host = HostConfig {
        privileged: Some(true),
        ..Default::default()
    };
    let spec = f.build(&sh(&["sh"]), &host).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().as_ref().unwrap().is_empty());
    assert!(linux.readonly_paths().as_ref().unwrap().is_empty());
    assert!(caps_of(&spec).contains(&"CAP_SYS_ADMIN".to_string()));
    assert!(!options_of(&spec, "/sys").contains(&"ro".to_string()));
    assert!(!options_of(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
    assert!(
        linux
            .devices()
            .as_ref()
            .unwrap()
            .iter()
            .any(|d| d.path() == Path::new("/dev/null"))
    );
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert!(rules[0].allow() && rules[0].typ().is_none());
}

#[test]
fn cap_add_sys_admin_opens_the_admin_syscalls() {
    let f = Fixture::new();
    let host = HostConfig {
        cap_add: Some(vec!["sys_admin".into()]),
        cap_drop: Some(vec!["NET_RAW".into()]),
        ..Default::default()
    };
    let spec = f.build(&sh(&["sh"]), &host).unwrap();
    let caps = caps_of(&spec);
    assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
    assert!(!caps.contains(&"CAP_NET_RAW".to_string()));
    assert!(!syscall_rules(&spec, "unshare").is_empty());
    assert!(!syscall_rules(&spec, "mount").is_empty());
    assert!(
        syscall_rules(&spec, "clone3")
            .iter()
            .all(|r| r.errno_ret().is_none())
    );
    assert!(
        syscall_rules(&spec, "clone")
            .iter()
            .all(|r| r.args().is_none())
    );
}

#[test]
fn unknown_user_is_an_invalid_argument_naming_it() {
    let f = Fixture::new();
    let config = ContainerConfig {
        user: Some("ghost".into()),
        ..sh(&["true"])
    };
    let err = f.build(&config, &HostConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
    assert_eq!(
        crate::HasKind::kind(&err),
        crate::ErrorKind::InvalidArgument
    );
}

mod docker_golden;
mod merge;
mod mounts;
mod resources;
mod seccomp_profiles;
mod user;
mod volumes;
