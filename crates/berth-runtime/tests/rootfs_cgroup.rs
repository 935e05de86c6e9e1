//! The cgroup mount on this hybrid (v1 + unified) host, with and without a cgroup namespace.

mod rootfs_support;

use oci_spec::runtime::LinuxNamespaceType;
use rootfs_support::*;

/// The cgroup path of `controller` for this process, from /proc/self/cgroup.
fn own_cgroup(controller: &str) -> String {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':').skip(1);
            Some((parts.next()?, parts.next()?))
        })
        .find(|(c, _)| c.split(',').any(|c| c == controller))
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| panic!("no {controller} hierarchy in /proc/self/cgroup"))
}

/// Without a cgroup namespace each hierarchy is a bind of the container's own cgroup
/// directory, so the container cannot see (or touch) its ancestors.
#[test]
fn without_cgroup_namespace_hierarchies_are_binds_of_own_cgroup() {
    let mut bundle = busybox();
    let mut linux = bundle.spec.linux().clone().unwrap();
    let namespaces = linux.namespaces().clone().unwrap();
    linux.set_namespaces(Some(
        namespaces
            .into_iter()
            .filter(|n| n.typ() != LinuxNamespaceType::Cgroup)
            .collect(),
    ));
    bundle.spec.set_linux(Some(linux));
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "memory", "/sys/fs/cgroup/memory");
        record_mount(f, "systemd", "/sys/fs/cgroup/systemd");
        record_mount(f, "tmpfs", "/sys/fs/cgroup");
        f.insert(
            "unified".into(),
            std::path::Path::new("/sys/fs/cgroup/unified")
                .exists()
                .to_string(),
        );
        f.insert(
            "write".into(),
            outcome(std::fs::write("/sys/fs/cgroup/memory/cgroup.procs", b"1")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["memory.fstype"], "cgroup");
    assert_eq!(f["memory.root"], own_cgroup("memory"), "{f:#?}");
    assert!(f["memory.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["systemd.root"], own_cgroup("name=systemd"));
    assert!(f["tmpfs.super"].contains("mode=755"), "{f:#?}");
    assert_eq!(
        f["unified"], "false",
        "like runc, only v1 hierarchies are shown on a hybrid host"
    );
    assert_eq!(f["write"], "EROFS");
}

/// A writable cgroup mount (no `ro` option) in a cgroup namespace: fresh rw hierarchies.
#[test]
fn writable_cgroup_mount_in_a_cgroup_namespace() {
    let mut bundle = busybox();
    let mut mounts = bundle.spec.mounts().clone().unwrap();
    for m in mounts
        .iter_mut()
        .filter(|m| m.typ().as_deref() == Some("cgroup"))
    {
        m.set_options(Some(vec!["nosuid".into(), "noexec".into(), "nodev".into()]));
    }
    bundle.spec.set_mounts(Some(mounts));
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "pids", "/sys/fs/cgroup/pids");
        record_mount(f, "tmpfs", "/sys/fs/cgroup");
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["pids.fstype"], "cgroup");
    assert_eq!(f["pids.root"], "/");
    assert!(f["pids.options"].starts_with("rw,"), "{f:#?}");
    assert!(f["tmpfs.options"].starts_with("rw,"), "{f:#?}");
}
