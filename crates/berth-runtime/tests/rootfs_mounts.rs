//! Spec mounts: bind options, data options, propagation, file binds.

mod rootfs_support;

use std::path::Path;

use oci_spec::runtime::{Mount, MountBuilder};
use rootfs_support::*;

fn mount(kind: &str, source: &str, destination: &str, options: &[&str]) -> Mount {
    MountBuilder::default()
        .typ(kind)
        .source(source)
        .destination(destination)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .unwrap()
}

fn add_mounts(bundle: &mut berth_testutil::Bundle, extra: Vec<Mount>) {
    let mut mounts = bundle.spec.mounts().clone().unwrap_or_default();
    mounts.extend(extra);
    bundle.spec.set_mounts(Some(mounts));
}

#[test]
fn bind_mounts_enforce_their_options() {
    let mut bundle = busybox();
    let host = tempfile::Builder::new()
        .prefix("berth-rootfs-bind-")
        .tempdir()
        .unwrap();
    std::fs::write(host.path().join("file"), b"hello").unwrap();
    let src = host.path().display().to_string();
    let file = host.path().join("file").display().to_string();
    add_mounts(
        &mut bundle,
        vec![
            mount(
                "bind",
                &src,
                "/mnt/ro",
                &["rbind", "ro", "nosuid", "nodev", "noexec"],
            ),
            mount("bind", &src, "/mnt/rw", &["rbind", "rw", "noatime"]),
            mount("none", &file, "/etc/bound-file", &["bind", "ro"]),
            mount(
                "bind",
                &src,
                "/mnt/strict",
                &["bind", "strictatime", "nodiratime"],
            ),
            // A relative source is relative to the bundle directory.
            mount("bind", "data", "/mnt/relative", &["rbind"]),
        ],
    );
    std::fs::create_dir(bundle.path().join("data")).unwrap();
    std::fs::write(bundle.path().join("data/marker"), b"bundle data").unwrap();
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "ro", "/mnt/ro");
        record_mount(f, "rw", "/mnt/rw");
        record_mount(f, "file", "/etc/bound-file");
        record_mount(f, "strict", "/mnt/strict");
        f.insert(
            "write_ro".into(),
            outcome(std::fs::write("/mnt/ro/new", b"x")),
        );
        f.insert(
            "read_ro".into(),
            std::fs::read_to_string("/mnt/ro/file").unwrap_or_default(),
        );
        f.insert(
            "write_rw".into(),
            outcome(std::fs::write("/mnt/rw/new", b"x")),
        );
        f.insert(
            "write_file".into(),
            outcome(std::fs::write("/etc/bound-file", b"x")),
        );
        f.insert(
            "read_file".into(),
            std::fs::read_to_string("/etc/bound-file").unwrap_or_default(),
        );
        f.insert("file_kind".into(), node("/etc/bound-file"));
        f.insert(
            "relative".into(),
            std::fs::read_to_string("/mnt/relative/marker").unwrap_or_default(),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["write_ro"], "EROFS");
    assert_eq!(f["read_ro"], "hello");
    for option in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(
            f["ro.options"].split(',').any(|o| o == option),
            "{option}: {f:#?}"
        );
    }
    assert_eq!(f["write_rw"], "ok");
    assert!(
        host.path().join("new").exists(),
        "rw bind writes reach the host directory"
    );
    assert!(
        f["rw.options"].starts_with("rw,") && f["rw.options"].contains("noatime"),
        "{f:#?}"
    );
    assert_eq!(f["write_file"], "EROFS");
    assert_eq!(f["read_file"], "hello");
    assert!(
        f["file_kind"].starts_with('f'),
        "destination created as a file: {f:#?}"
    );
    assert!(f["strict.options"].contains("nodiratime"), "{f:#?}");
    assert_eq!(f["relative"], "bundle data");
    assert!(
        !f["strict.options"].contains("relatime"),
        "strictatime: {f:#?}"
    );
}

#[test]
fn tmpfs_data_options_and_propagation() {
    let mut bundle = busybox();
    let sticky = bundle.rootfs().join("srv/sticky");
    std::fs::create_dir_all(&sticky).unwrap();
    std::fs::set_permissions(
        &sticky,
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    add_mounts(
        &mut bundle,
        vec![
            mount(
                "tmpfs",
                "tmpfs",
                "/run/shared",
                &["nosuid", "size=1m", "mode=700", "shared"],
            ),
            mount("tmpfs", "tmpfs", "/run/private", &["noexec", "private"]),
            mount("tmpfs", "tmpfs", "/run/unbindable", &["unbindable"]),
            mount(
                "tmpfs",
                "tmpfs",
                "/run/ro",
                &["ro", "relatime", "mode=1777"],
            ),
            mount("tmpfs", "tmpfs", "/srv/sticky", &["nosuid", "size=64k"]),
        ],
    );
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "shared", "/run/shared");
        record_mount(f, "private", "/run/private");
        record_mount(f, "unbindable", "/run/unbindable");
        record_mount(f, "ro", "/run/ro");
        f.insert("mode".into(), node("/run/shared"));
        f.insert("tmp_mode".into(), node("/srv/sticky"));
        f.insert(
            "write_ro".into(),
            outcome(std::fs::write("/run/ro/x", b"x")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert!(
        f["shared.super"].contains("size=1024k") && f["shared.super"].contains("mode=700"),
        "{f:#?}"
    );
    assert!(f["mode"].starts_with("d 0:0 700"), "{f:#?}");
    assert!(
        f["tmp_mode"].starts_with("d 0:0 1777"),
        "tmpfs keeps the mode of the directory it covers: {f:#?}"
    );
    assert!(f["shared.optional"].contains("shared:"), "{f:#?}");
    assert!(f["shared.options"].contains("nosuid"), "{f:#?}");
    assert!(
        !f["private.optional"].contains("shared:") && !f["private.optional"].contains("master:")
    );
    assert!(f["unbindable.optional"].contains("unbindable"), "{f:#?}");
    assert!(f["ro.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["write_ro"], "EROFS");
}

/// With the host side shared, the default rslave makes the container's / a slave (it sees
/// host mounts, the host never sees its mounts); an explicit rootfsPropagation is applied to
/// the new / after pivot.
#[test]
fn root_propagation_default_rslave_and_explicit() {
    for (propagation, expect) in [
        (None, "master:"),
        (Some("rshared"), "shared:"),
        (Some("private"), ""),
    ] {
        let mut bundle = busybox();
        let mut linux = bundle.spec.linux().clone().unwrap();
        linux.set_rootfs_propagation(propagation.map(str::to_string));
        bundle.spec.set_linux(Some(linux));
        let f = in_container(&bundle, Options::default(), |cfg, f| {
            // Make this namespace's copy of the host mounts shared (its own peer groups), as a
            // systemd host would be.
            make_shared_recursively();
            if !setup(cfg, f) {
                return;
            }
            record_mount(f, "root", "/");
        });
        assert_eq!(f.get("error"), None, "{propagation:?}: {f:#?}");
        let optional = &f["root.optional"];
        if expect.is_empty() {
            assert!(
                !optional.contains("shared:") && !optional.contains("master:"),
                "{propagation:?}: {f:#?}"
            );
        } else {
            assert!(optional.contains(expect), "{propagation:?}: {f:#?}");
        }
    }
}

/// Makes this process's mounts shared, then moves to a fresh mount namespace whose mounts are
/// their peers: like a container's namespace created from a systemd host's shared mounts.
fn make_shared_recursively() {
    let flags = (libc::MS_SHARED | libc::MS_REC) as _;
    // SAFETY: plain mount(2) call on valid NUL-terminated strings, in the child's own mount ns.
    let rc = unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "make / rshared: {}", std::io::Error::last_os_error());
    // SAFETY: plain syscall in the single-threaded container process.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNS) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNS): {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn bind_errors_name_the_mount_and_source() {
    let mut bundle = busybox();
    let count = bundle.spec.mounts().as_ref().map_or(0, Vec::len);
    add_mounts(
        &mut bundle,
        vec![mount(
            "bind",
            "/berth-rootfs-no-such-source",
            "/mnt/x",
            &["rbind"],
        )],
    );
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        setup(cfg, f);
    });
    let error = &f["error"];
    assert!(
        error.contains(&format!("mounts[{count}] (bind on /mnt/x)")),
        "{error}"
    );
    assert!(
        error.contains("stat(/berth-rootfs-no-such-source)"),
        "{error}"
    );
    assert!(error.contains("No such file"), "{error}");
    assert!(
        !Path::new(&bundle.rootfs()).join("mnt/x").exists(),
        "nothing created for a failed bind"
    );
}

/// In the forked child's own private mount namespace: `<bundle>/tree` with a tmpfs mounted
/// at `<bundle>/tree/sub`, so a recursive bind of `tree` carries a submount.
fn tree_with_submount(bundle: &Path) {
    let sub = bundle.join("tree/sub");
    std::fs::create_dir_all(&sub).unwrap();
    let target = std::ffi::CString::new(sub.to_str().unwrap()).unwrap();
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
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        );
        assert_eq!(rc, 0, "mount tmpfs: {}", std::io::Error::last_os_error());
    }
}

/// `ro` on an rbind makes only its top mount read-only (as runc); `rro` the whole tree.
#[test]
fn recursive_read_only_reaches_submounts() {
    let mut bundle = busybox();
    let tree = bundle.path().join("tree").display().to_string();
    add_mounts(
        &mut bundle,
        vec![
            mount("bind", &tree, "/mnt/ro", &["rbind", "ro"]),
            mount("bind", &tree, "/mnt/rro", &["rbind", "rro", "rnosuid"]),
        ],
    );
    let options = Options {
        before_namespaces: Some(tree_with_submount),
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "ro_sub", "/mnt/ro/sub");
        record_mount(f, "rro", "/mnt/rro");
        record_mount(f, "rro_sub", "/mnt/rro/sub");
        f.insert(
            "write_ro_sub".into(),
            outcome(std::fs::write("/mnt/ro/sub/x", b"x")),
        );
        f.insert(
            "write_rro_sub".into(),
            outcome(std::fs::write("/mnt/rro/sub/x", b"x")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["ro_sub.fstype"], "tmpfs");
    assert_eq!(f["write_ro_sub"], "ok");
    assert!(
        f["rro.options"].starts_with("ro,") && f["rro.options"].contains("nosuid"),
        "{f:#?}"
    );
    assert!(
        f["rro_sub.options"].starts_with("ro,") && f["rro_sub.options"].contains("nosuid"),
        "{f:#?}"
    );
    assert_eq!(f["write_rro_sub"], "EROFS");
}

#[test]
fn idmapped_mounts_are_refused_not_ignored() {
    let mut bundle = busybox();
    let index = bundle.spec.mounts().as_ref().map_or(0, Vec::len);
    add_mounts(
        &mut bundle,
        vec![mount("bind", "/etc", "/mnt/idmapped", &["rbind", "idmap"])],
    );
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        setup(cfg, f);
    });
    let error = f.get("error").expect("idmap accepted");
    assert!(
        error.contains(&format!("mounts[{index}] (bind on /mnt/idmapped)")),
        "{error}"
    );
    assert!(error.contains("idmapped mounts"), "{error}");
}
