//! Container snapshots are recorded in their own directories: they survive a reopen, a
//! half-made or half-removed one is cleaned up, IDs are never reused, and stores whose index
//! still lists container snapshots (older Berth) are migrated.

mod common;

use std::fs::{self, File};

use berth_store::Store;
use berth_store::snapshot::Driver;

const IMAGE: &str = "fixtures/busybox:1.35";

fn store_with_busybox(name: &str) -> (tempfile::TempDir, Store) {
    berth_testutil::require_root();
    let root = common::temp_root(name);
    let store = Store::open(root.path()).unwrap();
    store
        .load_archive(File::open(common::fixture("busybox.oci-archive.tar")).unwrap())
        .unwrap();
    (root, store)
}

fn snapshot_dir(store: &Store, key: &str) -> std::path::PathBuf {
    let id = store.snapshots.index().active[key].id;
    store.snapshots.fs_dir(id).parent().unwrap().to_path_buf()
}

#[test]
fn container_snapshots_survive_a_reopen_and_ids_are_not_reused() {
    let (root, store) = store_with_busybox("active-reopen");
    store.prepare_container("a", IMAGE, Driver::Copy).unwrap();
    store.prepare_container("b", IMAGE, Driver::Copy).unwrap();
    let (id_a, id_b) = {
        let index = store.snapshots.index();
        (index.active["a"].id, index.active["b"].id)
    };
    fs::write(store.snapshots.fs_dir(id_b).join("written"), b"kept").unwrap();
    drop(store);

    let store = Store::open(root.path()).unwrap();
    let index = store.snapshots.index();
    assert_eq!((index.active["a"].id, index.active["b"].id), (id_a, id_b));
    assert_eq!(
        fs::read(store.snapshots.fs_dir(id_b).join("written")).unwrap(),
        b"kept"
    );
    store.prepare_container("c", IMAGE, Driver::Copy).unwrap();
    let id_c = store.snapshots.index().active["c"].id;
    assert!(id_c > id_b, "new ID {id_c} after {id_b}");
    for key in ["a", "b", "c"] {
        store.snapshots.remove(key).unwrap();
    }
    drop(store);
    let store = Store::open(root.path()).unwrap();
    assert!(store.snapshots.index().active.is_empty());
}

#[test]
fn a_crash_mid_create_or_mid_remove_leaves_no_snapshot_behind() {
    let (root, store) = store_with_busybox("active-crash");
    store
        .prepare_container("removing", IMAGE, Driver::Copy)
        .unwrap();
    let removing = snapshot_dir(&store, "removing");
    let layers_before = store.snapshots.index().layers;
    drop(store);
    // Mid-remove: the record went first, part of the files are gone.
    fs::remove_file(removing.join("active.json")).unwrap();
    fs::remove_dir_all(removing.join("fs/bin")).unwrap();
    // Mid-create: a directory with files but no record yet.
    let half_made = removing.with_file_name("9999");
    fs::create_dir_all(half_made.join("fs/etc")).unwrap();

    let store = Store::open(root.path()).unwrap();
    let index = store.snapshots.index();
    assert!(index.active.is_empty(), "{:?}", index.active);
    assert_eq!(index.layers, layers_before);
    assert!(!removing.exists() && !half_made.exists());
    // A garbled record (torn write) is ignored rather than trusted, and the store opens.
    store
        .prepare_container("torn", IMAGE, Driver::Copy)
        .unwrap();
    let torn = snapshot_dir(&store, "torn");
    drop(store);
    fs::write(torn.join("active.json"), b"{\"key\":").unwrap();
    let store = Store::open(root.path()).unwrap();
    assert!(store.snapshots.index().active.is_empty());
    assert!(!torn.exists());
}

#[test]
fn an_index_listing_container_snapshots_is_migrated() {
    let (root, store) = store_with_busybox("active-legacy");
    store.prepare_container("old", IMAGE, Driver::Copy).unwrap();
    let dir = snapshot_dir(&store, "old");
    let record = store.snapshots.index().active["old"].clone();
    drop(store);
    // What an older Berth wrote: the container snapshot in index.json, none in its directory.
    fs::remove_file(dir.join("active.json")).unwrap();
    let index_path = root.path().join("snapshots/index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    index["active"] = serde_json::json!({ "old": record });
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();

    let store = Store::open(root.path()).unwrap();
    assert_eq!(store.snapshots.index().active["old"], record);
    assert!(dir.join("active.json").is_file());
    let rewritten: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    assert!(rewritten.get("active").is_none(), "{rewritten}");
    store.snapshots.remove("old").unwrap();
}

/// `commit_active` (a builder keeping a step's upper dir as its layer): the directory moves
/// from the container records to the layer index without a copy, survives a reopen, and the
/// refusals leave the container snapshot as it was.
#[test]
fn an_overlay_snapshot_becomes_a_layer_in_place() {
    let (root, store) = store_with_busybox("active-commit");
    let base = store.images.resolve(IMAGE).unwrap().chain_id.unwrap();
    store
        .snapshots
        .prepare("step", Some(&base), Driver::Overlay)
        .unwrap();
    let id = store.snapshots.index().active["step"].id;
    let upper = store.snapshots.fs_dir(id);
    fs::write(upper.join("made-by-step"), b"layer content").unwrap();
    let diff_id: berth_oci::Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
    let missing: berth_oci::Digest = format!("sha256:{}", "cd".repeat(32)).parse().unwrap();

    let refused = store
        .snapshots
        .commit_active("step", Some(&missing), &diff_id, 13, true)
        .unwrap_err();
    assert!(refused.to_string().contains("does not exist"), "{refused}");
    assert!(store.snapshots.index().active.contains_key("step"));
    assert!(
        store
            .snapshots
            .commit_active("no-such-key", Some(&base), &diff_id, 13, true)
            .is_err()
    );

    let chain = store
        .snapshots
        .commit_active("step", Some(&base), &diff_id, 13, true)
        .unwrap();
    assert_eq!(
        chain,
        berth_store::snapshot::chain_id(Some(&base), &diff_id)
    );
    let index = store.snapshots.index();
    assert!(!index.active.contains_key("step"));
    let record = &index.layers[&chain];
    assert_eq!(
        (record.id, record.size, record.parent.as_ref()),
        (id, 13, Some(&base))
    );
    let dir = upper.parent().unwrap();
    assert!(!dir.join("work").exists() && !dir.join("active.json").exists());
    drop(store);

    let store = Store::open(root.path()).unwrap();
    let dirs = store.snapshots.layer_dirs(&chain).unwrap();
    assert_eq!(
        fs::read(dirs[0].join("made-by-step")).unwrap(),
        b"layer content"
    );
    // Committing the same layer again keeps the first and drops the new snapshot.
    store
        .snapshots
        .prepare("again", Some(&base), Driver::Overlay)
        .unwrap();
    let again = store.snapshots.index().active["again"].id;
    let same = store
        .snapshots
        .commit_active("again", Some(&base), &diff_id, 13, true)
        .unwrap();
    assert_eq!(same, chain);
    // Its files go on another thread; settled, they are gone.
    assert!(!store.snapshots.index().active.contains_key("again"));
    store.snapshots.settle();
    assert!(!store.snapshots.fs_dir(again).parent().unwrap().exists());
    assert_eq!(store.snapshots.index().layers[&chain].id, id);
}

#[test]
fn a_layer_recorded_without_a_sync_is_saved_only_once_synced() {
    let (root, store) = store_with_busybox("active-deferred");
    let base = store.images.resolve(IMAGE).unwrap().chain_id.unwrap();
    let diff_id: berth_oci::Digest = format!("sha256:{}", "ef".repeat(32)).parse().unwrap();
    let commit = |store: &Store, key: &str| {
        store
            .snapshots
            .prepare(key, Some(&base), Driver::Overlay)
            .unwrap();
        let id = store.snapshots.index().active[key].id;
        fs::write(store.snapshots.fs_dir(id).join("f"), b"deferred").unwrap();
        let chain = store
            .snapshots
            .commit_active(key, Some(&base), &diff_id, 8, false)
            .unwrap();
        (chain, store.snapshots.fs_dir(id))
    };

    // Recorded in memory, usable, but not on disk: after a crash it and its files are gone.
    let (chain, dir) = commit(&store, "unsynced");
    assert!(store.snapshots.has_layer(&chain));
    assert_eq!(store.snapshots.not_durable(), vec![chain.clone()]);
    // A durable layer shared on top of it is not saved either while its parent is not.
    let above = store.snapshots.share_layer(&base, Some(&chain)).unwrap();
    // So is a build's next workspace on top of it.
    store
        .snapshots
        .prepare("next-step", Some(&chain), Driver::Overlay)
        .unwrap();
    let next_step = store.snapshots.index().active["next-step"].id;
    let on_disk = fs::read_to_string(root.path().join("snapshots/index.json")).unwrap();
    assert!(!on_disk.contains(&chain.to_string()), "{on_disk}");
    assert!(!on_disk.contains(&above.to_string()), "{on_disk}");
    drop(store);
    let store = Store::open(root.path()).unwrap();
    assert!(!store.snapshots.has_layer(&chain));
    assert!(!dir.exists(), "the crash's leftover is removed");
    assert!(!store.snapshots.index().active.contains_key("next-step"));
    assert!(!store.snapshots.fs_dir(next_step).exists());

    // Synced with the build's one sync, it is saved and survives a reopen.
    let (chain, dir) = commit(&store, "synced");
    store.sync_pending(Vec::new()).unwrap();
    assert!(store.snapshots.not_durable().is_empty());
    drop(store);
    let store = Store::open(root.path()).unwrap();
    assert!(store.snapshots.has_layer(&chain));
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"deferred");
}
