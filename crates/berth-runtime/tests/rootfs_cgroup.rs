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

/// In the forked child's own private mount namespace: cgroup2 over /sys/fs/cgroup, so the
/// container setup sees a unified (v2-only) host.
fn pretend_unified_host(_bundle: &std::path::Path) {
    // SAFETY: plain syscalls in the single-threaded forked child with valid C strings; the
    // mount lives only in this child's private mount namespace.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
        let private = libc::MS_PRIVATE | libc::MS_REC;
        let rc = libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            private,
            std::ptr::null(),
        );
        assert_eq!(rc, 0);
        let rc = libc::mount(
            c"cgroup2".as_ptr(),
            c"/sys/fs/cgroup".as_ptr(),
            c"cgroup2".as_ptr(),
            0,
            std::ptr::null(),
        );
        assert_eq!(rc, 0, "mount cgroup2: {}", std::io::Error::last_os_error());
    }
}

/// On a unified host the cgroup mount is one cgroup2 mount, read-only as the spec asks.
#[test]
fn unified_host_gets_a_read_only_cgroup2_mount() {
    let bundle = busybox();
    let options = Options {
        before_namespaces: Some(pretend_unified_host),
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "cgroup", "/sys/fs/cgroup");
        f.insert(
            "controllers".into(),
            std::path::Path::new("/sys/fs/cgroup/cgroup.controllers")
                .exists()
                .to_string(),
        );
        f.insert(
            "write".into(),
            outcome(std::fs::write(
                "/sys/fs/cgroup/cgroup.subtree_control",
                b"+pids",
            )),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["cgroup.fstype"], "cgroup2");
    assert_eq!(
        f["cgroup.root"], "/",
        "rooted at the container's cgroup namespace"
    );
    assert!(f["cgroup.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["controllers"], "true");
    assert_eq!(f["write"], "EROFS");
}

/// In a user namespace without a cgroup namespace the kernel refuses a fresh cgroup2 mount:
/// the container's own cgroup directory is bound instead (runc does the same).
#[test]
fn unified_host_in_a_user_namespace_binds_own_cgroup() {
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
    let options = Options {
        user_namespace: true,
        before_namespaces: Some(pretend_unified_host),
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "cgroup", "/sys/fs/cgroup");
        f.insert(
            "write".into(),
            outcome(std::fs::write(
                "/sys/fs/cgroup/cgroup.subtree_control",
                b"+pids",
            )),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["cgroup.fstype"], "cgroup2");
    assert_eq!(f["cgroup.root"], own_cgroup_v2(), "{f:#?}");
    assert!(f["cgroup.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["write"], "EROFS");
}

fn own_cgroup_v2() -> String {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("no unified line")
        .to_string()
}
