//! Snapshot chains built from generated layers: whiteouts and opaque dirs across many layers,
//! both drivers, the overlay option length limit, and container snapshot removal.

mod common;

use std::path::Path;

use berth_oci::Digest;
use berth_store::Store;
use berth_store::snapshot::{Driver, MountGuard, SnapshotError};

fn entry(builder: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_600_000_000);
    header.set_size(data.len() as u64);
    builder.append_data(&mut header, path, data).unwrap();
}

/// Layer i adds `files/f<i>`, whites out `files/f<i-1>`, and every 10th layer makes `opq/`
/// opaque with a single `opq/from-<i>`.
fn layer(i: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, tar::EntryType::Directory, "files/", b"");
    entry(
        &mut b,
        tar::EntryType::Regular,
        &format!("files/f{i}"),
        format!("{i}").as_bytes(),
    );
    if i > 0 {
        entry(
            &mut b,
            tar::EntryType::Regular,
            &format!("files/.wh.f{}", i - 1),
            b"",
        );
    }
    entry(&mut b, tar::EntryType::Directory, "opq/", b"");
    if i.is_multiple_of(10) {
        entry(&mut b, tar::EntryType::Regular, "opq/.wh..wh..opq", b"");
    }
    entry(
        &mut b,
        tar::EntryType::Regular,
        &format!("opq/from-{i}"),
        b"x",
    );
    b.into_inner().unwrap()
}

fn build_chain(store: &Store, count: usize) -> Digest {
    let mut parent: Option<Digest> = None;
    for i in 0..count {
        let data = layer(i);
        let diff_id = Digest::sha256_of(&data);
        parent = Some(
            store
                .snapshots
                .apply_layer(parent.as_ref(), Some(&diff_id), data.as_slice())
                .unwrap(),
        );
    }
    parent.unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    common::dir_names(dir)
}

#[test]
fn many_layers_flatten_the_same_with_both_drivers() {
    berth_testutil::require_root();
    let root = common::temp_root("chain");
    let store = Store::open(root.path()).unwrap();
    let count = 45;
    let top = build_chain(&store, count);
    for (driver, key) in [
        (Driver::Overlay, "chain-overlay"),
        (Driver::Copy, "chain-copy"),
    ] {
        let mount = store.snapshots.prepare(key, Some(&top), driver).unwrap();
        assert!(mount.options.join(",").len() <= berth_store::snapshot::MAX_MOUNT_DATA);
        let target = root.path().join(format!("mnt-{key}"));
        std::fs::create_dir(&target).unwrap();
        let guard = MountGuard::mount(&mount, &target).unwrap();
        assert_eq!(
            names(&target.join("files")),
            vec![format!("f{}", count - 1)],
            "{driver:?}"
        );
        let expected_opq: Vec<String> = {
            let mut v: Vec<String> = (40..count).map(|i| format!("from-{i}")).collect();
            v.sort();
            v
        };
        assert_eq!(
            names(&target.join("opq")),
            expected_opq,
            "{driver:?}: opaque at layer 40 hides older"
        );
        // The container writes; the layers stay untouched.
        std::fs::write(target.join("files/new"), b"container").unwrap();
        drop(guard);
        store.snapshots.remove(key).unwrap();
    }
    let dirs = store.snapshots.layer_dirs(&top).unwrap();
    assert_eq!(dirs.len(), count);
    assert!(
        !dirs.iter().any(|d| d.join("files/new").exists()),
        "writes never reach a layer"
    );
    // Removing a layer others sit on is refused.
    let base = berth_store::snapshot::chain_ids(&[Digest::sha256_of(&layer(0))]).remove(0);
    assert!(matches!(
        store.snapshots.remove_layer(&base),
        Err(SnapshotError::InUse { .. })
    ));
}

#[test]
fn overlay_options_over_a_page_are_refused_cleanly() {
    berth_testutil::require_root();
    let root = common::temp_root("toolong");
    let store = Store::open(root.path()).unwrap();
    let top = build_chain(&store, 130);
    let before = common::dir_names(&root.path().join("snapshots"));
    let err = store
        .snapshots
        .prepare("too-long", Some(&top), Driver::Overlay)
        .unwrap_err();
    assert!(
        matches!(err, SnapshotError::OptionsTooLong { layers: 130, .. }),
        "{err}"
    );
    assert!(matches!(
        store.snapshots.remove("too-long"),
        Err(SnapshotError::KeyMissing { .. })
    ));
    assert_eq!(common::dir_names(&root.path().join("snapshots")), before);
    // The copy driver has no such limit.
    let mount = store
        .snapshots
        .prepare("copy-ok", Some(&top), Driver::Copy)
        .unwrap();
    assert_eq!(names(&mount.source.join("files")), vec!["f129".to_owned()]);
    store.snapshots.remove("copy-ok").unwrap();
}
