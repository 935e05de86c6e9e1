//! Mount destinations never escape the rootfs, and /proc cannot be over-mounted.

mod rootfs_support;

use std::os::unix::fs::symlink;
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
fn symlinked_destinations_stay_inside_the_rootfs() {
    let mut bundle = busybox();
    let rootfs = bundle.rootfs();
    let name = format!("berth-rootfs-escape-{}", std::process::id());
    symlink("/", rootfs.join("evil")).unwrap();
    symlink("../../../../../..", rootfs.join("etc/up")).unwrap();
    symlink(
        format!("/../../{name}-dangling/target"),
        rootfs.join("dangling"),
    )
    .unwrap();
    let host = tempfile::Builder::new()
        .prefix("berth-rootfs-sec-")
        .tempdir()
        .unwrap();
    let src = host.path().display().to_string();
    add_mounts(
        &mut bundle,
        vec![
            mount("tmpfs", "tmpfs", &format!("/evil/{name}-a"), &[]),
            mount("tmpfs", "tmpfs", &format!("/etc/up/{name}-b"), &[]),
            mount(
                "bind",
                &src,
                &format!("/evil/../etc/up/../{name}-c"),
                &["rbind", "ro"],
            ),
            mount("tmpfs", "tmpfs", "/dangling", &[]),
        ],
    );
    let n = name.clone();
    let f = in_container(&bundle, Options::default(), move |cfg, f| {
        if !setup(cfg, f) {
            return;
        }
        let table = mounts();
        for suffix in ["a", "b", "c"] {
            let path = format!("/{n}-{suffix}");
            f.insert(
                format!("mounted.{suffix}"),
                table.contains_key(&path).to_string(),
            );
        }
        f.insert(
            "dangling".into(),
            table
                .contains_key(&format!("/{n}-dangling/target"))
                .to_string(),
        );
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    for suffix in ["a", "b", "c"] {
        assert_eq!(f[&format!("mounted.{suffix}")], "true", "{suffix}: {f:#?}");
        assert!(
            rootfs.join(format!("{name}-{suffix}")).is_dir(),
            "created inside the rootfs"
        );
        assert!(
            !Path::new(&format!("/{name}-{suffix}")).exists(),
            "nothing created on the host"
        );
    }
    assert_eq!(
        f["dangling"], "true",
        "dangling symlink followed inside the rootfs: {f:#?}"
    );
    assert!(rootfs.join(format!("{name}-dangling/target")).is_dir());
    assert!(!Path::new(&format!("/{name}-dangling")).exists());
}

#[test]
fn proc_cannot_be_overmounted_or_symlinked() {
    let cases: [(&str, Mount, &str); 5] = [
        (
            "",
            mount("tmpfs", "tmpfs", "/proc/sys/kernel", &[]),
            "mounting inside /proc",
        ),
        (
            "sneaky",
            mount("tmpfs", "tmpfs", "/sneaky/kernel", &[]),
            "mounting inside /proc",
        ),
        (
            "myproc",
            mount("proc", "proc", "/myproc", &[]),
            "proc must be mounted on an ordinary directory",
        ),
        (
            "",
            mount("tmpfs", "tmpfs", "/proc", &[]),
            "only proc (or a bind of a procfs)",
        ),
        (
            "",
            mount("bind", "/etc", "/proc/../proc/./", &["rbind"]),
            "only proc (or a bind of a procfs)",
        ),
    ];
    for (link, extra, expect) in cases {
        let mut bundle = busybox();
        match link {
            "sneaky" => symlink("/proc/sys", bundle.rootfs().join("sneaky")).unwrap(),
            "myproc" => symlink("/tmp", bundle.rootfs().join("myproc")).unwrap(),
            _ => {}
        }
        let destination = extra.destination().display().to_string();
        let index = bundle.spec.mounts().as_ref().map_or(0, Vec::len);
        add_mounts(&mut bundle, vec![extra]);
        let f = in_container(&bundle, Options::default(), |cfg, f| {
            setup(cfg, f);
        });
        let error = f
            .get("error")
            .unwrap_or_else(|| panic!("{destination}: accepted: {f:#?}"));
        assert!(error.contains(&format!("mounts[{index}]")), "{error}");
        assert!(error.contains(&format!("on {destination})")), "{error}");
        assert!(error.contains(expect), "{destination}: {error}");
    }
}

#[test]
fn lxcfs_style_proc_file_binds_are_allowed() {
    let mut bundle = busybox();
    let host = tempfile::Builder::new()
        .prefix("berth-rootfs-lxcfs-")
        .tempdir()
        .unwrap();
    std::fs::write(host.path().join("uptime"), b"42.00 42.00\n").unwrap();
    let src = host.path().join("uptime").display().to_string();
    add_mounts(
        &mut bundle,
        vec![mount("bind", &src, "/proc/uptime", &["bind", "ro"])],
    );
    let f = in_container(&bundle, Options::default(), |cfg, f| {
        if setup(cfg, f) {
            f.insert(
                "uptime".into(),
                std::fs::read_to_string("/proc/uptime").unwrap_or_default(),
            );
        }
    });
    assert_eq!(f.get("error"), None, "{f:#?}");
    assert_eq!(f["uptime"], "42.00 42.00\n");
}
