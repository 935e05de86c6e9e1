//! /dev: linux.devices, and the user-namespace fallback (bind the host's nodes).

mod rootfs_support;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};
use rootfs_support::*;

fn device(
    path: &str,
    typ: LinuxDeviceType,
    major: i64,
    minor: i64,
    mode: u32,
    owner: u32,
) -> LinuxDevice {
    LinuxDeviceBuilder::default()
        .path(path)
        .typ(typ)
        .major(major)
        .minor(minor)
        .file_mode(mode)
        .uid(owner)
        .gid(owner)
        .build()
        .unwrap()
}

fn set_devices(bundle: &mut berth_testutil::Bundle, devices: Vec<LinuxDevice>) {
    let mut linux = bundle.spec.linux().clone().unwrap();
    linux.set_devices(Some(devices));
    bundle.spec.set_linux(Some(linux));
}

#[test]
fn spec_devices_are_created_with_their_numbers_modes_and_owners() {
    let mut bundle = busybox();
    set_devices(
        &mut bundle,
        vec![
            device("/dev/fuse", LinuxDeviceType::C, 10, 229, 0o600, 1000),
            device("/dev/custom/loop9", LinuxDeviceType::B, 7, 9, 0o640, 6),
            device("/dev/pipe", LinuxDeviceType::P, 0, 0, 0o620, 0),
            // Overrides the default /dev/null's mode.
            device("/dev/null", LinuxDeviceType::C, 1, 3, 0o660, 0),
        ],
    );
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        for dev in [
            "/dev/fuse",
            "/dev/custom/loop9",
            "/dev/pipe",
            "/dev/null",
            "/dev/zero",
        ] {
            f.insert(dev.into(), node(dev));
        }
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["/dev/fuse"], "c 10:229 600 1000:1000");
    assert_eq!(f["/dev/custom/loop9"], "b 7:9 640 6:6");
    assert_eq!(f["/dev/pipe"], "p 0:0 620 0:0");
    assert_eq!(f["/dev/null"], "c 1:3 660 0:0");
    assert_eq!(f["/dev/zero"], "c 1:5 666 0:0");
}

#[test]
fn devices_outside_dev_are_rejected() {
    let mut bundle = busybox();
    set_devices(
        &mut bundle,
        vec![device(
            "/dev/../etc/evil",
            LinuxDeviceType::C,
            1,
            3,
            0o666,
            0,
        )],
    );
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        setup(cfg, f);
    });
    let error = f.get("error").expect("accepted a device outside /dev");
    assert!(
        error.contains("/dev/../etc/evil") && error.contains("under /dev"),
        "{error}"
    );
    assert!(!bundle.rootfs().join("etc/evil").exists());
}

/// In a user namespace mknod is refused: the host's nodes are bind-mounted instead, and the
/// rest of the default spec (sysfs in the container's own net ns, cgroups, read-only root
/// with locked flags kept) still works.
#[test]
fn user_namespace_binds_host_device_nodes() {
    let mut bundle = busybox();
    set_devices(
        &mut bundle,
        vec![device("/dev/fuse", LinuxDeviceType::C, 10, 229, 0o600, 0)],
    );
    let options = Options {
        user_namespace: true,
        ..Options::default()
    };
    let f = in_container(&bundle, options, |cfg, f| {
        f.insert("mknod_refused".into(), outcome(mknod_probe()));
        if !setup(cfg, f) {
            return;
        }
        let table = mounts();
        for dev in ["/dev/null", "/dev/zero", "/dev/tty", "/dev/fuse"] {
            f.insert(format!("node.{dev}"), node(dev));
            f.insert(format!("bound.{dev}"), table.contains_key(dev).to_string());
        }
        f.insert(
            "null_write".into(),
            outcome(std::fs::write("/dev/null", b"x")),
        );
        f.insert(
            "zero_read".into(),
            format!("{:?}", std::fs::File::open("/dev/zero").map(|_| ())),
        );
        record_mount(f, "root", "/");
        record_mount(f, "sys", "/sys");
        record_mount(f, "cgroup_cpu", "/sys/fs/cgroup/cpu");
        f.insert(
            "write_root".into(),
            outcome(std::fs::write("/berth-x", b"x")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(
        f["mknod_refused"], "EPERM",
        "the test really runs in a user namespace"
    );
    for (dev, numbers) in [
        ("/dev/null", "1:3"),
        ("/dev/zero", "1:5"),
        ("/dev/tty", "5:0"),
        ("/dev/fuse", "10:229"),
    ] {
        assert_eq!(f[&format!("bound.{dev}")], "true", "{dev}: {f:#?}");
        assert!(
            f[&format!("node.{dev}")].starts_with(&format!("c {numbers} ")),
            "{dev}: {f:#?}"
        );
    }
    assert_eq!(f["null_write"], "ok");
    assert_eq!(f["zero_read"], "Ok(())");
    assert!(f["root.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["write_root"], "EROFS");
    assert_eq!(f["sys.fstype"], "sysfs");
    assert_eq!(
        f["cgroup_cpu.fstype"], "cgroup",
        "v1 hierarchies bound in a user namespace: {f:#?}"
    );
}

/// mknod of a char device, as probe that we are in a user namespace.
fn mknod_probe() -> std::io::Result<()> {
    let path = c"/tmp/berth-rootfs-mknod-probe";
    // SAFETY: valid NUL-terminated path; creates (or fails to create) a node we remove below.
    let rc = unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) };
    if rc == 0 {
        // SAFETY: same valid path.
        unsafe { libc::unlink(path.as_ptr()) };
        return Ok(());
    }
    Err(std::io::Error::last_os_error())
}

/// A read-only /dev tmpfs still gets its devices: mounted rw, filled, then remounted ro.
#[test]
fn read_only_dev_is_filled_before_it_turns_read_only() {
    let mut bundle = busybox();
    let mut mounts = bundle.spec.mounts().clone().unwrap();
    for m in mounts
        .iter_mut()
        .filter(|m| m.destination() == std::path::Path::new("/dev"))
    {
        let mut options = m.options().clone().unwrap_or_default();
        options.push("ro".into());
        m.set_options(Some(options));
    }
    bundle.spec.set_mounts(Some(mounts));
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        record_mount(f, "dev", "/dev");
        f.insert("null".into(), node("/dev/null"));
        f.insert("create".into(), outcome(std::fs::write("/dev/new", b"x")));
        f.insert(
            "null_write".into(),
            outcome(std::fs::write("/dev/null", b"x")),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert!(
        f["dev.options"].starts_with("ro,") && f["dev.options"].contains("nosuid"),
        "{f:#?}"
    );
    assert_eq!(f["null"], "c 1:3 666 0:0");
    assert_eq!(f["create"], "EROFS");
    assert_eq!(
        f["null_write"], "ok",
        "device nodes keep working on a read-only /dev"
    );
}
