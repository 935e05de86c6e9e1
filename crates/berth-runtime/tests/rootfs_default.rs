//! The default (runc-like) spec end to end: mounts, /dev, pivot, masked/readonly paths,
//! read-only root.

mod rootfs_support;

use rootfs_support::*;

#[test]
fn default_spec_builds_a_runc_like_rootfs() {
    let bundle = busybox();
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        for (key, path) in [
            ("root", "/"),
            ("proc", "/proc"),
            ("dev", "/dev"),
            ("pts", "/dev/pts"),
            ("shm", "/dev/shm"),
            ("mqueue", "/dev/mqueue"),
            ("sys", "/sys"),
            ("cgroup", "/sys/fs/cgroup"),
            ("cgroup_cpu", "/sys/fs/cgroup/cpu"),
            ("cgroup_systemd", "/sys/fs/cgroup/systemd"),
            ("proc_sys", "/proc/sys"),
            ("sys_firmware", "/sys/firmware"),
            ("proc_keys", "/proc/keys"),
        ] {
            record_mount(f, key, path);
        }
        for dev in [
            "null", "zero", "full", "random", "urandom", "tty", "ptmx", "fd", "stdin", "stdout",
            "stderr",
        ] {
            f.insert(format!("node./dev/{dev}"), node(&format!("/dev/{dev}")));
        }
        f.insert(
            "link./dev/ptmx".into(),
            std::fs::read_link("/dev/ptmx")
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        f.insert(
            "link./dev/fd".into(),
            std::fs::read_link("/dev/fd")
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        f.insert(
            "write_root".into(),
            outcome(std::fs::write("/berth-rootfs-test", b"x")),
        );
        f.insert(
            "write_shm".into(),
            outcome(std::fs::write("/dev/shm/x", b"x")),
        );
        f.insert(
            "write_proc_sys".into(),
            outcome(std::fs::write("/proc/sys/kernel/hostname", b"x")),
        );
        f.insert(
            "keys_len".into(),
            std::fs::read("/proc/keys")
                .map(|d| d.len().to_string())
                .unwrap_or_else(|e| e.to_string()),
        );
        f.insert(
            "firmware_entries".into(),
            std::fs::read_dir("/sys/firmware")
                .map(|d| d.count().to_string())
                .unwrap_or_else(|e| e.to_string()),
        );
        f.insert(
            "has_busybox".into(),
            std::path::Path::new("/bin/busybox").exists().to_string(),
        );
        f.insert(
            "cwd".into(),
            std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        f.insert("mount_count".into(), mounts().len().to_string());
        f.insert(
            "old_root_gone".into(),
            (!mounts().values().any(|m| m.root.contains("berth-bundle"))).to_string(),
        );
        f.insert(
            "ptmx_open".into(),
            outcome(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/ptmx"),
            ),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    eprintln!(
        "default spec: prepare {} µs, pivot {} µs, finalize {} µs",
        f["time.prepare"], f["time.pivot"], f["time.finalize"]
    );
    assert_eq!(f["has_busybox"], "true");
    assert_eq!(f["cwd"], "/");
    // The host's mounts are gone: only the container's own table remains.
    assert!(f["mount_count"].parse::<usize>().unwrap() < 40, "{f:#?}");

    assert_eq!(
        f["root.options"].split(',').next(),
        Some("ro"),
        "root.readonly: {f:#?}"
    );
    assert_eq!(f["write_root"], "EROFS");

    assert_eq!(f["proc.fstype"], "proc");
    assert_eq!(f["dev.fstype"], "tmpfs");
    assert!(
        f["dev.options"].contains("nosuid") && f["dev.super"].contains("mode=755"),
        "{f:#?}"
    );
    assert!(f["dev.super"].contains("size=65536k"), "{f:#?}");
    assert_eq!(f["pts.fstype"], "devpts");
    assert!(
        f["pts.super"].contains("ptmxmode=666") && f["pts.super"].contains("gid=5"),
        "{f:#?}"
    );
    assert!(f["pts.options"].contains("noexec"), "{f:#?}");
    assert_eq!(f["shm.fstype"], "tmpfs");
    assert_eq!(f["write_shm"], "ok");
    assert_eq!(f["mqueue.fstype"], "mqueue");
    assert_eq!(f["sys.fstype"], "sysfs");
    assert!(f["sys.options"].starts_with("ro,"), "{f:#?}");

    // cgroup v1 (hybrid host): tmpfs with one mount per hierarchy, rooted at our cgroup ns.
    assert_eq!(f["cgroup.fstype"], "tmpfs");
    assert!(f["cgroup.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["cgroup_cpu.fstype"], "cgroup");
    assert_eq!(f["cgroup_cpu.root"], "/");
    assert!(f["cgroup_cpu.options"].starts_with("ro,"), "{f:#?}");
    assert!(f["cgroup_systemd.super"].contains("name=systemd"), "{f:#?}");

    // masked and read-only paths
    assert_eq!(f["proc_sys.fstype"], "proc");
    assert!(f["proc_sys.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["write_proc_sys"], "EROFS");
    // /proc/kcore and /proc/scsi do not exist on this kernel: masking skips them silently.
    assert_eq!(
        f["proc_keys.fstype"], "tmpfs",
        "/proc/keys has /dev/null (on the /dev tmpfs) over it"
    );
    assert_eq!(f["keys_len"], "0");
    assert_eq!(f["sys_firmware.fstype"], "tmpfs");
    assert!(f["sys_firmware.options"].starts_with("ro,"), "{f:#?}");
    assert_eq!(f["firmware_entries"], "0");

    // default devices and links
    for (dev, numbers) in [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
    ] {
        assert_eq!(
            f[&format!("node./dev/{dev}")],
            format!("c {numbers} 666 0:0"),
            "{dev}"
        );
    }
    assert_eq!(f["link./dev/ptmx"], "pts/ptmx");
    assert_eq!(f["link./dev/fd"], "/proc/self/fd");
    assert!(f["node./dev/stdin"].starts_with('l'));
    assert_eq!(f["ptmx_open"], "ok");
}
