//! `Snapshotter::share_layer`: a recorded layer's directory recorded again on another parent
//! — same tree (whiteouts, opaque dirs, symlinks, hard link pairs), mounted under the new
//! chain, kept until the last chain naming it is removed, counted once by `system df`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use berth_oci::Digest;
use berth_store::Store;
use berth_store::images::NoUsers;
use berth_store::snapshot::{Driver, MountGuard, SnapshotError, chain_id};

fn entry(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, mode: u32, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(7);
    header.set_gid(8);
    header.set_mtime(1_600_000_000);
    header.set_size(data.len() as u64);
    b.append_data(&mut header, path, data).unwrap();
}

fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, target: &str) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(0o777);
    header.set_uid(7);
    header.set_gid(8);
    header.set_mtime(1_600_000_000);
    header.set_size(0);
    b.append_link(&mut header, path, target).unwrap();
}

fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn apply(store: &Store, parent: Option<&Digest>, data: &[u8]) -> Digest {
    let diff_id = Digest::sha256_of(data);
    store
        .snapshots
        .apply_layer(parent, Some(&diff_id), data)
        .unwrap()
}

/// Every entry under `dir`: type, mode, owner, mtime, opaque marker, content or target.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for path in names {
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let head = format!(
                "{:o} {}:{} {}",
                meta.mode(),
                meta.uid(),
                meta.gid(),
                meta.mtime()
            );
            let text = if meta.is_dir() {
                let mut buf = [0u8; 4];
                let opaque =
                    rustix::fs::lgetxattr(&path, "trusted.overlay.opaque", &mut buf[..]).is_ok();
                walk(root, &path, out);
                format!("dir {head} opaque={opaque}")
            } else if meta.file_type().is_symlink() {
                format!("link {head} {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_file() {
                format!(
                    "file {head} {}",
                    String::from_utf8_lossy(&fs::read(&path).unwrap())
                )
            } else {
                format!("node {head} {}", meta.rdev())
            };
            out.insert(rel, text);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_shared_layer_directory_serves_its_new_chain_until_the_last_chain_goes() {
    berth_testutil::require_root();
    let root = common::temp_root("copy8-share");
    let store = Store::open(root.path()).unwrap();
    let base_a = apply(
        &store,
        None,
        &tar_of(|b| entry(b, tar::EntryType::Regular, "a", 0o644, b"a")),
    );
    let base_b = apply(
        &store,
        None,
        &tar_of(|b| entry(b, tar::EntryType::Regular, "b", 0o644, b"b")),
    );
    let layer = tar_of(|b| {
        use tar::EntryType::*;
        entry(b, Directory, "app/", 0o750, b"");
        entry(b, Directory, "app/opq/", 0o700, b"");
        entry(b, Regular, "app/opq/.wh..wh..opq", 0o644, b"");
        entry(b, Regular, "app/opq/kept", 0o600, b"kept");
        entry(b, Regular, "app/.wh.gone", 0o644, b"");
        entry(b, Regular, "app/file", 0o4755, b"content");
        link(b, Link, "app/hard", "app/file");
        link(b, Symlink, "app/sym", "file");
    });
    let on_a = apply(&store, Some(&base_a), &layer);
    let diff_id = Digest::sha256_of(&layer);

    let on_b = store.snapshots.share_layer(&on_a, Some(&base_b)).unwrap();
    assert_eq!(on_b, chain_id(Some(&base_b), &diff_id));
    let index = store.snapshots.index();
    let (a_rec, b_rec) = (&index.layers[&on_a], &index.layers[&on_b]);
    assert_eq!(b_rec.parent.as_ref(), Some(&base_b));
    assert_eq!((&b_rec.diff_id, b_rec.size), (&a_rec.diff_id, a_rec.size));
    assert_eq!(a_rec.id, b_rec.id, "one directory for both chains");
    let dir = store.snapshots.fs_dir(b_rec.id);
    let shared = tree(&dir);
    assert!(shared["app/opq"].ends_with("opaque=true"), "{shared:?}");
    assert!(shared["app/gone"].starts_with("node 20000 "), "{shared:?}");
    let ino = |p: &Path| fs::symlink_metadata(p).unwrap().ino();
    assert_eq!(ino(&dir.join("app/hard")), ino(&dir.join("app/file")));
    // The new chain mounts: base b below, the layer on top (its whiteout hides nothing here).
    let mount = store
        .snapshots
        .prepare("copy8-share-view", Some(&on_b), Driver::Overlay)
        .unwrap();
    let target = root.path().join("view");
    fs::create_dir(&target).unwrap();
    {
        let _guard = MountGuard::mount(&mount, &target).unwrap();
        assert_eq!(fs::read_to_string(target.join("b")).unwrap(), "b");
        assert!(!target.join("a").exists());
        assert_eq!(
            fs::read_to_string(target.join("app/opq/kept")).unwrap(),
            "kept"
        );
    }
    store.snapshots.remove("copy8-share-view").unwrap();
    // Counted once.
    let usage = store.disk_usage(&NoUsers).unwrap();
    let sizes: u64 = [&base_a, &base_b, &on_a]
        .iter()
        .map(|c| index.layers[*c].size)
        .sum();
    assert_eq!(usage.layers_size, sizes);

    // Asked again: the existing chain. The source gone: the shared directory stays whole,
    // and goes with the last chain naming it.
    assert_eq!(
        store.snapshots.share_layer(&on_a, Some(&base_b)).unwrap(),
        on_b
    );
    assert!(store.snapshots.remove_layer(&on_a).unwrap());
    assert_eq!(tree(&dir), shared);
    assert_eq!(store.snapshots.layer_dirs(&on_b).unwrap().len(), 2);
    drop(store);
    let store = Store::open(root.path()).unwrap();
    assert!(store.snapshots.has_layer(&on_b));
    assert_eq!(tree(&dir), shared, "reopening keeps a shared directory");
    assert!(store.snapshots.remove_layer(&on_b).unwrap());
    assert!(!dir.exists(), "the last chain took the directory with it");
}

#[test]
fn sharing_a_missing_layer_or_onto_a_missing_parent_is_refused() {
    berth_testutil::require_root();
    let root = common::temp_root("copy8-share-missing");
    let store = Store::open(root.path()).unwrap();
    let base = apply(
        &store,
        None,
        &tar_of(|b| entry(b, tar::EntryType::Regular, "a", 0o644, b"a")),
    );
    let nowhere = Digest::sha256_of(b"no such layer");
    assert!(matches!(
        store.snapshots.share_layer(&nowhere, None),
        Err(SnapshotError::LayerMissing { .. })
    ));
    assert!(matches!(
        store.snapshots.share_layer(&base, Some(&nowhere)),
        Err(SnapshotError::ParentMissing { .. })
    ));
    assert_eq!(store.snapshots.index().layers.len(), 1);
}
