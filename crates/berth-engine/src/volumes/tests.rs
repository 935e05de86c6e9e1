//! The volume service against a real engine in a temp dir (root: mounts, chown, xattrs).

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use bollard_stubs::models::{ContainerConfig, HostConfig};
use rustix::mount::MountPropagationFlags;

use super::*;
use crate::containers::{Container, ContainerRecord, State};
use crate::{Engine, Paths};

struct TestEngine {
    engine: Engine,
    _dir: tempfile::TempDir,
}

fn engine() -> TestEngine {
    berth_testutil::require_root();
    let dir = tempfile::Builder::new()
        .prefix(&format!("berth-vol-{}-", std::process::id()))
        .tempdir()
        .unwrap();
    let paths = Paths::new(dir.path().join("data"), dir.path().join("run"));
    TestEngine {
        engine: Engine::open(paths).unwrap(),
        _dir: dir,
    }
}

fn host(binds: &[&str]) -> HostConfig {
    HostConfig {
        binds: Some(binds.iter().map(|b| b.to_string()).collect()),
        ..HostConfig::default()
    }
}

fn id(n: u8) -> String {
    format!("{:064x}", n)
}

/// A rootfs with content at /data for copy-up.
fn rootfs(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("rootfs");
    let data = root.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("file"), b"from the image").unwrap();
    std::fs::set_permissions(data.join("file"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::lchown(data.join("file"), Some(1234), Some(5678)).unwrap();
    std::fs::hard_link(data.join("file"), data.join("sub/link")).unwrap();
    std::os::unix::fs::symlink("../file", data.join("sub/sym")).unwrap();
    rustix::fs::lsetxattr(
        data.join("file"),
        "user.berth",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
    root
}

#[test]
fn create_list_inspect_filter_remove() {
    let t = engine();
    let e = &t.engine;
    let labels = HashMap::from([("tier".to_string(), "db".to_string())]);
    let v = e
        .create_volume(CreateOptions {
            name: Some("vol-a".into()),
            labels: labels.clone(),
            ..CreateOptions::default()
        })
        .unwrap();
    assert_eq!(v.driver, "local");
    assert!(Path::new(&v.mountpoint).is_dir());
    assert!(v.mountpoint.ends_with("/volumes/vol-a/_data"));
    // Creating it again returns the same volume.
    let again = e
        .create_volume(CreateOptions {
            name: Some("vol-a".into()),
            ..CreateOptions::default()
        })
        .unwrap();
    assert_eq!(again.labels, labels);
    let generated = e.create_volume(CreateOptions::default()).unwrap();
    assert_eq!(generated.name.len(), 64);
    let by_label = e.list_volumes(&VolumeFilters {
        label: vec!["tier=db".into()],
        ..VolumeFilters::default()
    });
    assert_eq!(by_label.len(), 1);
    assert_eq!(
        e.list_volumes(&VolumeFilters {
            name: vec!["vol-".into()],
            ..VolumeFilters::default()
        })
        .len(),
        1
    );
    assert_eq!(e.list_volumes(&VolumeFilters::default()).len(), 2);
    for bad in ["../x", "a/b", ".x", "x"] {
        let err = e
            .create_volume(CreateOptions {
                name: Some(bad.into()),
                ..CreateOptions::default()
            })
            .unwrap_err();
        assert!(
            matches!(err, VolumeError::InvalidName { .. }),
            "{bad}: {err}"
        );
    }
    assert!(!t._dir.path().join("data/x").exists());
    let err = e
        .create_volume(CreateOptions {
            name: Some("vol-b".into()),
            driver: Some("nfs-plugin".into()),
            ..CreateOptions::default()
        })
        .unwrap_err();
    assert!(matches!(err, VolumeError::UnknownDriver { .. }));
    e.remove_volume("vol-a", false).unwrap();
    assert!(matches!(
        e.remove_volume("vol-a", false),
        Err(VolumeError::NotFound { .. })
    ));
    e.remove_volume("vol-a", true).unwrap();
    assert!(!Path::new(&v.mountpoint).exists());
    // Reopened from disk, the other volume is still there.
    let reopened = Volumes::open(e.volumes.root()).unwrap();
    assert_eq!(reopened.list().len(), 1);
}

#[test]
fn an_empty_named_volume_is_filled_from_the_image_once() {
    let t = engine();
    let e = &t.engine;
    let root = rootfs(t._dir.path());
    let mounts = e
        .resolve_mounts(
            &id(1),
            &ContainerConfig::default(),
            &host(&["data-v:/data:ro"]),
            &[],
            &root,
        )
        .unwrap();
    assert_eq!(mounts.len(), 1);
    let m = &mounts[0];
    assert_eq!(m.point.typ.as_deref(), Some("volume"));
    assert_eq!(m.point.rw, Some(false));
    assert_eq!(m.point.mode.as_deref(), Some("ro"));
    let data = e.volumes.data_dir("data-v");
    assert_eq!(m.mount.source().as_deref(), Some(data.as_path()));
    assert_eq!(
        m.mount.options().clone().unwrap(),
        ["rbind", "ro", "rprivate"]
    );
    let file = data.join("file");
    assert_eq!(std::fs::read(&file).unwrap(), b"from the image");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1234, 5678, 0o640)
    );
    assert_eq!(
        std::fs::metadata(data.join("sub/link")).unwrap().ino(),
        meta.ino()
    );
    assert_eq!(
        std::fs::read_link(data.join("sub/sym")).unwrap(),
        Path::new("../file")
    );
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o7777, 0o750);
    let mut value = [0u8; 16];
    let n = rustix::fs::lgetxattr(&file, "user.berth", &mut value[..]).unwrap();
    assert_eq!(&value[..n], b"kept");

    // Data written to the volume survives the container and is not overwritten.
    std::fs::write(&file, b"written by the container").unwrap();
    e.release_mounts(&id(1), true).unwrap();
    e.resolve_mounts(
        &id(2),
        &ContainerConfig::default(),
        &host(&["data-v:/data"]),
        &[],
        &root,
    )
    .unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"written by the container");
    e.release_mounts(&id(2), true).unwrap();
    assert!(e.volumes.get("data-v").is_ok(), "rm -v keeps named volumes");
}

#[test]
fn a_volume_in_use_is_not_removed_and_anonymous_ones_go_with_rm_v() {
    let t = engine();
    let e = &t.engine;
    let root = rootfs(t._dir.path());
    let config = ContainerConfig {
        volumes: Some(vec!["/data".to_string()]),
        ..ContainerConfig::default()
    };
    let mounts = e
        .resolve_mounts(
            &id(3),
            &config,
            &host(&["named-v:/srv"]),
            &["/cache".into()],
            &root,
        )
        .unwrap();
    let anonymous: Vec<String> = mounts
        .iter()
        .filter(|m| m.point.destination.as_deref() != Some("/srv"))
        .map(|m| m.point.name.clone().unwrap())
        .collect();
    assert_eq!(anonymous.len(), 2);
    for name in &anonymous {
        assert!(e.volumes.get(name).unwrap().is_anonymous());
    }
    // The anonymous /data volume got the image's content too.
    assert!(
        e.volumes.data_dir(&anonymous[1]).join("file").is_file()
            || e.volumes.data_dir(&anonymous[0]).join("file").is_file()
    );
    match e.remove_volume("named-v", false) {
        Err(VolumeError::InUse { containers, .. }) => assert_eq!(containers, [id(3)]),
        other => panic!("expected in use, got {other:?}"),
    }
    assert!(matches!(
        e.remove_volume("named-v", true),
        Err(VolumeError::InUse { .. })
    ));
    assert_eq!(e.volumes.mounts_of(&id(3)).len(), 3);
    let removed = e.release_mounts(&id(3), true).unwrap();
    assert_eq!(removed.len(), 2);
    for name in &anonymous {
        assert!(matches!(
            e.volumes.get(name),
            Err(VolumeError::NotFound { .. })
        ));
        assert!(!e.volumes.data_dir(name).exists());
    }
    e.remove_volume("named-v", false).unwrap();
}

#[test]
fn prune_removes_unused_volumes_matching_the_filters() {
    let t = engine();
    let e = &t.engine;
    let root = rootfs(t._dir.path());
    for (name, label) in [("keep-used", "x"), ("gone-a", "x"), ("kept-label", "y")] {
        e.create_volume(CreateOptions {
            name: Some(name.into()),
            labels: HashMap::from([("l".to_string(), label.to_string())]),
            ..CreateOptions::default()
        })
        .unwrap();
    }
    std::fs::write(e.volumes.data_dir("gone-a").join("f"), vec![0u8; 1000]).unwrap();
    e.resolve_mounts(
        &id(4),
        &ContainerConfig::default(),
        &host(&["keep-used:/data"]),
        &[],
        &root,
    )
    .unwrap();
    let report = e
        .prune_volumes(&VolumeFilters {
            label: vec!["l=x".into()],
            ..VolumeFilters::default()
        })
        .unwrap();
    assert_eq!(report.deleted, ["gone-a"]);
    assert_eq!(report.space_reclaimed, 1000);
    let report = e.prune_volumes(&VolumeFilters::default()).unwrap();
    assert_eq!(report.deleted, ["kept-label"]);
    assert_eq!(e.list_volumes(&VolumeFilters::default()).len(), 1);
    e.release_mounts(&id(4), false).unwrap();
    let report = e.prune_volumes(&VolumeFilters::default()).unwrap();
    assert_eq!(report.deleted, ["keep-used"]);
}

fn insert_container(e: &Engine, id: &str, name: &str) {
    let record = ContainerRecord {
        id: id.to_string(),
        name: name.to_string(),
        created: String::new(),
        image: String::new(),
        image_name: String::new(),
        path: "sh".into(),
        args: Vec::new(),
        config: ContainerConfig::default(),
        host_config: HostConfig::default(),
        state: State::default(),
        restart_count: 0,
        networking_config: None,
    };
    e.containers
        .insert(Arc::new(Container::new(e.paths.container(id), record)));
}

#[test]
fn volumes_from_shares_another_containers_mounts() {
    let t = engine();
    let e = &t.engine;
    let root = rootfs(t._dir.path());
    let host_dir = t._dir.path().join("host-dir");
    insert_container(e, &id(5), "vol-source");
    let mut from = host(&["shared-v:/data", &format!("{}:/h", host_dir.display())]);
    from.tmpfs = Some(HashMap::from([("/t".to_string(), String::new())]));
    e.resolve_mounts(&id(5), &ContainerConfig::default(), &from, &[], &root)
        .unwrap();
    assert!(host_dir.is_dir(), "-v creates a missing host directory");
    let borrower = HostConfig {
        volumes_from: Some(vec!["vol-source:ro".into()]),
        ..HostConfig::default()
    };
    let mounts = e
        .resolve_mounts(&id(6), &ContainerConfig::default(), &borrower, &[], &root)
        .unwrap();
    assert_eq!(mounts.len(), 2);
    for m in &mounts {
        assert_eq!(m.point.rw, Some(false));
        assert!(
            m.mount
                .options()
                .clone()
                .unwrap()
                .contains(&"ro".to_string())
        );
    }
    assert_eq!(e.volumes.users_of("shared-v"), [id(5), id(6)]);
    let missing = HostConfig {
        volumes_from: Some(vec!["no-such-container".into()]),
        ..HostConfig::default()
    };
    assert!(matches!(
        e.resolve_mounts(&id(7), &ContainerConfig::default(), &missing, &[], &root),
        Err(VolumeError::VolumesFrom { .. })
    ));
    e.release_mounts(&id(5), true).unwrap();
    e.release_mounts(&id(6), true).unwrap();
    assert!(e.volumes.users_of("shared-v").is_empty());
}

#[test]
fn mount_api_types_and_duplicates() {
    let t = engine();
    let e = &t.engine;
    let root = rootfs(t._dir.path());
    // rslave needs a source on a shared (or slave) mount, as in Docker.
    let shared = SelfBind::new(t._dir.path().join("shared"), MountPropagationFlags::SHARED);
    let private = SelfBind::new(
        t._dir.path().join("private"),
        MountPropagationFlags::PRIVATE,
    );
    let mounts: Vec<bollard_stubs::models::Mount> = serde_json::from_value(serde_json::json!([
        {"Type":"volume","Source":"nocopy-v","Target":"/data","VolumeOptions":{"NoCopy":true}},
        {"Type":"tmpfs","Target":"/scratch","TmpfsOptions":{"SizeBytes":1048576}},
        {"Type":"bind","Source":shared.0,"Target":"/host-etc","ReadOnly":true,
         "BindOptions":{"Propagation":"rslave"}}]))
    .unwrap();
    let host = HostConfig {
        mounts: Some(mounts),
        ..HostConfig::default()
    };
    let resolved = e
        .resolve_mounts(&id(8), &ContainerConfig::default(), &host, &[], &root)
        .unwrap();
    let by_dest = |d: &str| {
        resolved
            .iter()
            .find(|m| m.point.destination.as_deref() == Some(d))
            .unwrap()
    };
    assert_eq!(
        std::fs::read_dir(e.volumes.data_dir("nocopy-v"))
            .unwrap()
            .count(),
        0,
        "nocopy leaves the volume empty"
    );
    let tmpfs = by_dest("/scratch");
    assert_eq!(tmpfs.mount.typ().as_deref(), Some("tmpfs"));
    assert!(
        tmpfs
            .mount
            .options()
            .clone()
            .unwrap()
            .contains(&"size=1048576".to_string())
    );
    let bind = by_dest("/host-etc");
    assert_eq!(
        bind.mount.options().clone().unwrap(),
        ["rbind", "ro", "rslave"]
    );
    assert_eq!(bind.point.propagation.as_deref(), Some("rslave"));
    e.release_mounts(&id(8), true).unwrap();
    let on_private: Vec<bollard_stubs::models::Mount> = serde_json::from_value(serde_json::json!([
        {"Type":"bind","Source":private.0,"Target":"/p","BindOptions":{"Propagation":"rshared"}}]))
    .unwrap();
    let refused = e.resolve_mounts(
        &id(10),
        &ContainerConfig::default(),
        &HostConfig {
            mounts: Some(on_private),
            ..HostConfig::default()
        },
        &[],
        &root,
    );
    match refused {
        Err(VolumeError::PropagationUnavailable { mount_point, .. }) => {
            assert_eq!(mount_point, private.0)
        }
        other => panic!("rshared on a private mount: {:?}", other.map(|_| ())),
    }

    let dup = HostConfig {
        binds: Some(vec!["a-v:/x".into(), "/tmp:/x".into()]),
        ..HostConfig::default()
    };
    assert!(matches!(
        e.resolve_mounts(&id(9), &ContainerConfig::default(), &dup, &[], &root),
        Err(VolumeError::DuplicateMountPoint { .. })
    ));
    assert!(
        e.volumes.get("a-v").is_err(),
        "a failed resolve creates nothing"
    );
}

#[test]
fn local_driver_options_mount_a_filesystem_while_in_use() {
    let t = engine();
    let e = &t.engine;
    let root = rootfs(t._dir.path());
    e.create_volume(CreateOptions {
        name: Some("tmpfs-v".into()),
        driver_opts: HashMap::from([
            ("type".to_string(), "tmpfs".to_string()),
            ("device".to_string(), "tmpfs".to_string()),
            ("o".to_string(), "size=1m".to_string()),
        ]),
        ..CreateOptions::default()
    })
    .unwrap();
    let data = e.volumes.data_dir("tmpfs-v");
    let is_mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(data.to_str().unwrap()))
    };
    e.resolve_mounts(
        &id(10),
        &ContainerConfig::default(),
        &host(&["tmpfs-v:/data"]),
        &[],
        &root,
    )
    .unwrap();
    assert!(is_mounted());
    assert!(data.join("file").is_file(), "copied up into the tmpfs");
    e.release_mounts(&id(10), false).unwrap();
    assert!(!is_mounted());
    assert!(!data.join("file").exists());
    e.remove_volume("tmpfs-v", false).unwrap();
}

/// `path` bind-mounted on itself with the given propagation; unmounted on drop.
struct SelfBind(std::path::PathBuf);

impl SelfBind {
    fn new(path: std::path::PathBuf, propagation: MountPropagationFlags) -> SelfBind {
        std::fs::create_dir_all(&path).unwrap();
        rustix::mount::mount_bind(&path, &path).expect("bind mount");
        let bind = SelfBind(path);
        rustix::mount::mount_change(&bind.0, propagation).expect("mount propagation");
        bind
    }
}

impl Drop for SelfBind {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}
