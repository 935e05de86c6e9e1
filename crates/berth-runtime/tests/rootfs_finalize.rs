//! After pivot: sysctl, readonly/masked paths, read-only root; and the no-pivot path.

mod rootfs_support;

use std::collections::HashMap;

use rootfs_support::*;

fn set_linux(
    bundle: &mut berth_testutil::Bundle,
    edit: impl FnOnce(&mut oci_spec::runtime::Linux),
) {
    let mut linux = bundle.spec.linux().clone().unwrap();
    edit(&mut linux);
    bundle.spec.set_linux(Some(linux));
}

#[test]
fn namespaced_sysctls_are_written_in_the_container_only() {
    let mut bundle = busybox();
    set_linux(&mut bundle, |l| {
        l.set_sysctl(Some(HashMap::from([
            ("net.ipv4.ip_forward".to_string(), "1".to_string()),
            ("kernel.shmmni".to_string(), "1234".to_string()),
        ])));
    });
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        f.insert(
            "forward".into(),
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default(),
        );
        f.insert(
            "shmmni".into(),
            std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap_or_default(),
        );
        // /proc/sys is read-only after the sysctls were applied.
        f.insert(
            "write_after".into(),
            outcome(std::fs::write("/proc/sys/net/ipv4/ip_forward", "0")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["forward"], "1\n");
    assert_eq!(f["shmmni"], "1234\n");
    assert_eq!(f["write_after"], "EROFS");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_forward
    );
}

#[test]
fn non_namespaced_or_unowned_sysctls_are_rejected() {
    let cases = [
        ("kernel.core_pattern", "not in a separate kernel namespace"),
        ("net./../kernel.core_pattern", "malformed"),
        ("net.ipv4.ip_forward", "needs a new network namespace"),
    ];
    for (key, expect) in cases {
        let mut bundle = busybox();
        let drop_net = expect.contains("network");
        set_linux(&mut bundle, |l| {
            l.set_sysctl(Some(HashMap::from([(
                key.to_string(),
                "|/bin/evil".to_string(),
            )])));
            if drop_net {
                let ns = l.namespaces().clone().unwrap_or_default();
                let ns = ns
                    .into_iter()
                    .filter(|n| n.typ() != oci_spec::runtime::LinuxNamespaceType::Network);
                l.set_namespaces(Some(ns.collect()));
            }
        });
        let f = in_container(&bundle, Options::default(), |cfg, f| {
            setup(cfg, f);
        });
        let error = f.get("error").unwrap_or_else(|| panic!("{key} accepted"));
        assert!(
            error.contains(key) && error.contains(expect),
            "{key}: {error}"
        );
    }
}

#[test]
fn custom_readonly_and_masked_paths() {
    let mut bundle = busybox();
    bundle
        .spec
        .root_mut()
        .as_mut()
        .unwrap()
        .set_readonly(Some(false));
    std::fs::write(bundle.rootfs().join("etc/secret"), b"top secret").unwrap();
    std::fs::create_dir_all(bundle.rootfs().join("srv/hidden")).unwrap();
    std::fs::write(bundle.rootfs().join("srv/hidden/data"), b"x").unwrap();
    set_linux(&mut bundle, |l| {
        l.set_readonly_paths(Some(vec!["/etc".into(), "/does/not/exist".into()]));
        l.set_masked_paths(Some(vec![
            "/etc/secret".into(),
            "/srv/hidden".into(),
            "/nope".into(),
        ]));
    });
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        f.insert(
            "write_etc".into(),
            outcome(std::fs::write("/etc/new", b"x")),
        );
        f.insert("write_root".into(), outcome(std::fs::write("/new", b"x")));
        f.insert(
            "secret".into(),
            std::fs::read_to_string("/etc/secret").unwrap_or_else(|e| e.to_string()),
        );
        f.insert(
            "hidden".into(),
            std::fs::read_dir("/srv/hidden")
                .map(|d| d.count().to_string())
                .unwrap_or_default(),
        );
        f.insert(
            "write_hidden".into(),
            outcome(std::fs::write("/srv/hidden/x", b"x")),
        );
        record_mount(f, "etc", "/etc");
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["write_etc"], "EROFS");
    assert_eq!(
        f["write_root"], "ok",
        "root stays writable without root.readonly"
    );
    assert!(bundle.rootfs().join("new").exists());
    assert!(f["etc.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["secret"], "");
    assert_eq!(f["hidden"], "0");
    assert_eq!(f["write_hidden"], "EROFS");
}

#[test]
fn no_pivot_moves_the_rootfs_and_chroots() {
    no_pivot(false);
}

/// In a user namespace the host's proc/sysfs mounts are locked and cannot be unmounted:
/// they are covered with a tmpfs instead.
#[test]
fn no_pivot_in_a_user_namespace() {
    no_pivot(true);
}

fn no_pivot(user_namespace: bool) {
    let bundle = busybox();
    let options = Options {
        no_pivot: true,
        user_namespace,
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        f.insert(
            "busybox".into(),
            std::path::Path::new("/bin/busybox").exists().to_string(),
        );
        f.insert(
            "cwd".into(),
            std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        record_mount(f, "root", "/");
        record_mount(f, "proc", "/proc");
        f.insert("write_root".into(), outcome(std::fs::write("/x", b"x")));
        f.insert("null".into(), node("/dev/null"));
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["busybox"], "true");
    assert_eq!(f["cwd"], "/");
    assert_eq!(f["proc.fstype"], "proc");
    assert_eq!(f["write_root"], "EROFS");
    assert_eq!(f["null"], "c 1:3 666 0:0");
}
