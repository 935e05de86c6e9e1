//! User namespaces: flags the kernel locks on inherited mounts, and sysfs without a network
//! namespace of our own.

mod rootfs_support;

use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Mount, MountBuilder};
use rootfs_support::*;

fn bind(source: &Path, destination: &str, options: &[&str]) -> Mount {
    MountBuilder::default()
        .typ("bind")
        .source(source)
        .destination(destination)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .unwrap()
}

/// In the forked child, before the user namespace: a private mount namespace with a
/// nosuid,nodev,noexec tmpfs at `<bundle>/locked`. Copied into the container's namespaces
/// (owned by the new user namespace) those flags become locked.
fn locked_tmpfs(bundle: &Path) {
    let dir = bundle.join("locked");
    std::fs::create_dir(&dir).unwrap();
    let target = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: plain syscalls in the single-threaded forked child with valid C strings; the
    // mount lives only in this child's private mount namespace.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
        let private = libc::MS_PRIVATE | libc::MS_REC;
        assert_eq!(
            libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                std::ptr::null(),
                private,
                std::ptr::null()
            ),
            0
        );
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let rc = libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            flags,
            std::ptr::null(),
        );
        assert_eq!(rc, 0, "mount tmpfs: {}", std::io::Error::last_os_error());
    }
    std::fs::write(dir.join("file"), b"locked").unwrap();
}

#[test]
fn read_only_bind_keeps_locked_flags() {
    let mut bundle = busybox();
    let source = bundle.path().join("locked");
    let mut mounts = bundle.spec.mounts().clone().unwrap();
    mounts.push(bind(&source, "/mnt/locked", &["rbind", "ro"]));
    bundle.spec.set_mounts(Some(mounts));
    let options = Options {
        user_namespace: true,
        before_namespaces: Some(locked_tmpfs),
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "locked", "/mnt/locked");
        f.insert(
            "read".into(),
            std::fs::read_to_string("/mnt/locked/file").unwrap_or_default(),
        );
        f.insert(
            "write".into(),
            outcome(std::fs::write("/mnt/locked/x", b"x")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    for option in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(
            f["locked.options"].split(',').any(|o| o == option),
            "{option}: {f:#?}"
        );
    }
    assert_eq!(f["read"], "locked");
    assert_eq!(f["write"], "EROFS");
}

#[test]
fn clearing_a_locked_flag_fails_and_names_the_mount() {
    let mut bundle = busybox();
    let source = bundle.path().join("locked");
    let mut mounts = bundle.spec.mounts().clone().unwrap();
    let index = mounts.len();
    mounts.push(bind(&source, "/mnt/locked", &["rbind", "ro", "suid"]));
    bundle.spec.set_mounts(Some(mounts));
    let options = Options {
        user_namespace: true,
        before_namespaces: Some(locked_tmpfs),
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        setup(cfg, f);
    });
    let error = f
        .get("error")
        .expect("suid on a nosuid-locked source must fail");
    assert!(
        error.contains(&format!("mounts[{index}] (bind on /mnt/locked)")),
        "{error}"
    );
    assert!(
        error.contains("mount(/mnt/locked)") && error.contains("Operation not permitted"),
        "{error}"
    );
}

/// Without a network namespace owned by the user namespace the kernel refuses a fresh sysfs;
/// like runc we bind the host's /sys instead, still read-only as the spec asks.
#[test]
fn sysfs_falls_back_to_a_bind_without_own_network_namespace() {
    let mut bundle = busybox();
    let mut linux = bundle.spec.linux().clone().unwrap();
    let namespaces = linux.namespaces().clone().unwrap();
    linux.set_namespaces(Some(
        namespaces
            .into_iter()
            .filter(|n| n.typ() != LinuxNamespaceType::Network)
            .collect(),
    ));
    bundle.spec.set_linux(Some(linux));
    let options = Options {
        user_namespace: true,
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "sys", "/sys");
        f.insert(
            "class_net".into(),
            Path::new("/sys/class/net/lo").exists().to_string(),
        );
        f.insert(
            "write".into(),
            outcome(std::fs::write("/sys/kernel/berth-x", b"x")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["sys.fstype"], "sysfs");
    assert!(f["sys.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["class_net"], "true");
    assert_eq!(f["write"], "EROFS");
}
