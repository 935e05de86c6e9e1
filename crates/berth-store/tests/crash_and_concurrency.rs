//! Crash consistency (leftovers of an interrupted write are ignored/cleaned on reopen) and
//! concurrent ingest of the same blob.

mod common;

use std::fs::{self, File};
use std::sync::{Arc, Barrier};

use berth_oci::Digest;
use berth_store::Store;

#[test]
fn reopen_after_crash_cleans_temp_files_and_partial_snapshots() {
    berth_testutil::require_root();
    let root = common::temp_root("crash");
    let store = Store::open(root.path()).unwrap();
    let image = store
        .load_archive(File::open(common::fixture("busybox.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    let blobs_before = common::dir_names(&root.path().join("blobs/sha256"));
    let snapshots_before = common::dir_names(&root.path().join("snapshots"));
    drop(store);

    // What a crash mid-ingest, mid-unpack and mid-record-write leaves behind.
    fs::write(
        root.path().join("blobs/sha256/.tmp-ingest-999-1-1"),
        b"partial blob",
    )
    .unwrap();
    fs::create_dir_all(root.path().join("snapshots/4242/fs/bin")).unwrap();
    fs::write(
        root.path().join("snapshots/4242/fs/bin/half"),
        b"half a file",
    )
    .unwrap();
    fs::write(
        root.path().join("snapshots/.tmp-write-999-2-2"),
        b"{\"next_id\":",
    )
    .unwrap();
    fs::write(root.path().join(".tmp-write-999-3-3"), b"[").unwrap();

    let store = Store::open(root.path()).unwrap();
    assert_eq!(
        common::dir_names(&root.path().join("blobs/sha256")),
        blobs_before
    );
    assert_eq!(
        common::dir_names(&root.path().join("snapshots")),
        snapshots_before
    );
    // The store still works: the image is there and a container can be prepared from it.
    let found = store.images.resolve("fixtures/busybox:1.35").unwrap();
    assert_eq!(found.id, image.id);
    let mount = store
        .prepare_container(
            "crash-test",
            "fixtures/busybox:1.35",
            berth_store::snapshot::Driver::Copy,
        )
        .unwrap();
    assert!(mount.source.join("bin/busybox").is_file());
    store.snapshots.remove("crash-test").unwrap();
    // A stale temp file in the blob dir that appears while the store is open is swept by GC.
    fs::write(
        root.path().join("blobs/sha256/.tmp-ingest-999-9-9"),
        b"stale",
    )
    .unwrap();
    let report = store.gc().unwrap();
    assert_eq!(report.temp_files_removed, 1);
    assert!(
        report.blobs_removed.is_empty(),
        "referenced blobs survive GC"
    );
}

#[test]
fn two_threads_ingesting_the_same_blob_give_one_blob() {
    let root = common::temp_root("concurrent");
    let store = Arc::new(Store::open(root.path()).unwrap());
    let data: Arc<Vec<u8>> = Arc::new((0..4_000_000u32).map(|i| (i % 251) as u8).collect());
    let digest = Digest::sha256_of(&data);
    for _round in 0..5 {
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (store, data, digest, barrier) =
                    (store.clone(), data.clone(), digest.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    // Slow, chunked reader so the two writes overlap.
                    let reader =
                        std::io::Read::chain(&data[..data.len() / 2], &data[data.len() / 2..]);
                    store
                        .content
                        .ingest(reader, &digest, Some(data.len() as u64))
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap().unwrap(), data.len() as u64);
        }
        assert_eq!(
            common::dir_names(&root.path().join("blobs/sha256")),
            vec![digest.hex().to_owned()]
        );
        assert_eq!(fs::read(store.content.blob_path(&digest)).unwrap(), *data);
        assert!(store.content.delete(&digest).unwrap());
    }
}

#[test]
fn concurrent_loads_of_the_same_image_share_snapshots() {
    berth_testutil::require_root();
    let root = common::temp_root("concload");
    let store = Arc::new(Store::open(root.path()).unwrap());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.load_archive(
                    File::open(common::fixture("whiteouts.docker-archive.tar")).unwrap(),
                )
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    assert_eq!(
        store.snapshots.index().layers.len(),
        4,
        "each layer stored once"
    );
    let numeric: Vec<String> = common::dir_names(&root.path().join("snapshots"))
        .into_iter()
        .filter(|n| n != "index.json")
        .collect();
    assert_eq!(numeric.len(), 4, "losing unpack was removed: {numeric:?}");
}
