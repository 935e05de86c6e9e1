//! Image records: tags, rmi semantics, prune, in-use refusal, inspect/history/df, save → load
//! round trips in both formats, rootfs import, and garbage collection.

mod common;

use std::collections::HashMap;
use std::fs::File;

use berth_oci::Digest;
use berth_store::archive::ArchiveFormat;
use berth_store::images::{ImageError, ImageUsers, NoUsers};
use berth_store::{Store, StoreError};

struct Users(HashMap<Digest, Vec<String>>);

impl ImageUsers for Users {
    fn containers_using(&self, image: &Digest) -> Vec<String> {
        self.0.get(image).cloned().unwrap_or_default()
    }
}

fn loaded(purpose: &str, archive: &str) -> (tempfile::TempDir, Store, Digest) {
    berth_testutil::require_root();
    let root = common::temp_root(purpose);
    let store = Store::open(root.path()).unwrap();
    let image = store
        .load_archive(File::open(common::fixture(archive)).unwrap())
        .unwrap()
        .remove(0);
    (root, store, image.id)
}

#[test]
fn tags_untag_and_delete_like_docker() {
    let (root, store, id) = loaded("tags", "busybox.docker-archive.tar");
    assert_eq!(
        store.images.resolve("fixtures/busybox:1.35").unwrap().id,
        id
    );
    assert_eq!(store.images.resolve(&id.hex()[..12]).unwrap().id, id);
    assert_eq!(store.images.resolve(&id.to_string()).unwrap().id, id);
    store
        .images
        .tag("fixtures/busybox:1.35", "busybox")
        .unwrap();
    store
        .images
        .tag(&id.to_string(), "localhost:5000/other/bb:v1")
        .unwrap();
    let record = store.images.resolve("busybox:latest").unwrap();
    assert_eq!(record.repo_tags.len(), 3);

    // By ID with tags in several repositories: needs force.
    let err = store
        .remove_image(&id.hex()[..12], false, &NoUsers)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Image(ImageError::MultipleRepositories { .. })
        ),
        "{err}"
    );
    // By tag: only untags.
    let outcome = store.remove_image("busybox", false, &NoUsers).unwrap();
    assert_eq!(outcome.untagged.len(), 1);
    assert!(outcome.deleted.is_none());
    assert!(store.images.resolve("busybox").is_err());
    // In use: the last name cannot take the image with it.
    store
        .remove_image("localhost:5000/other/bb:v1", false, &NoUsers)
        .unwrap();
    let users = Users(HashMap::from([(id.clone(), vec!["c1".to_owned()])]));
    let err = store
        .remove_image("fixtures/busybox:1.35", false, &users)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Image(ImageError::InUse { .. })),
        "{err}"
    );
    // Deleting the last tag deletes the image, its snapshots and its blobs.
    let outcome = store
        .remove_image("fixtures/busybox:1.35", false, &NoUsers)
        .unwrap();
    assert_eq!(outcome.deleted, Some(id));
    assert!(store.images.list().is_empty());
    assert!(store.snapshots.index().layers.is_empty());
    assert_eq!(
        common::dir_names(&root.path().join("blobs/sha256")),
        Vec::<String>::new()
    );
}

#[test]
fn retagging_moves_the_tag_and_prune_removes_dangling() {
    berth_testutil::require_root();
    let root = common::temp_root("prune");
    let store = Store::open(root.path()).unwrap();
    let busybox = store
        .load_archive(File::open(common::fixture("busybox.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    let whiteouts = store
        .load_archive(File::open(common::fixture("whiteouts.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    // The whiteouts image shares busybox's base layer: stored once.
    assert_eq!(store.snapshots.index().layers.len(), 4);
    store.images.tag(&busybox.id.to_string(), "app:1").unwrap();
    store
        .images
        .tag(&whiteouts.id.to_string(), "app:1")
        .unwrap();
    assert_eq!(
        store.images.resolve("app:1").unwrap().id,
        whiteouts.id,
        "tag moved"
    );
    store
        .remove_image("fixtures/busybox:1.35", false, &NoUsers)
        .unwrap();
    // busybox is gone, but its layer stays: whiteouts needs it.
    assert_eq!(store.snapshots.index().layers.len(), 4);
    store
        .images
        .remove("fixtures/whiteouts:1", false, &NoUsers)
        .unwrap();
    store.images.remove("app:1", false, &NoUsers).unwrap();
    assert!(store.images.list().is_empty());
    // Moving busybox's only tag onto another image leaves busybox dangling.
    let busybox = store
        .load_archive(File::open(common::fixture("busybox.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    let whiteouts = store
        .load_archive(File::open(common::fixture("whiteouts.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    store
        .images
        .tag(&whiteouts.id.to_string(), "fixtures/busybox:1.35")
        .unwrap();
    assert!(
        store
            .images
            .resolve(&busybox.id.to_string())
            .unwrap()
            .is_dangling()
    );
    let (pruned, _) = store.prune_images(false, &NoUsers).unwrap();
    assert_eq!(pruned.len(), 1);
    assert_eq!(pruned[0].deleted, Some(busybox.id.clone()));
    assert_eq!(
        store.snapshots.index().layers.len(),
        4,
        "whiteouts still needs all four"
    );
    let users = Users(HashMap::from([(
        whiteouts.id.clone(),
        vec!["c".to_owned()],
    )]));
    let (pruned, _) = store.prune_images(true, &users).unwrap();
    assert!(pruned.is_empty(), "an image in use is not pruned");
    let (pruned, report) = store.prune_images(true, &NoUsers).unwrap();
    assert_eq!(pruned.len(), 1);
    assert_eq!(
        report.layers_removed.len(),
        4,
        "whiteouts' 3 layers and the shared base"
    );
    assert!(store.snapshots.index().layers.is_empty());
    assert_eq!(
        common::dir_names(&root.path().join("blobs/sha256")),
        Vec::<String>::new()
    );
}

#[test]
fn inspect_history_and_disk_usage() {
    let (_root, store, id) = loaded("inspect", "whiteouts.docker-archive.tar");
    let inspect = store.inspect_image("fixtures/whiteouts:1").unwrap();
    assert_eq!(inspect["Id"], id.to_string());
    assert_eq!(inspect["RepoTags"][0], "fixtures/whiteouts:1");
    assert_eq!(inspect["Config"]["WorkingDir"], "/d");
    assert_eq!(inspect["Config"]["Cmd"][1], "/d/b");
    assert_eq!(inspect["Config"]["Env"][1], "GREETING=hello");
    assert_eq!(inspect["RootFS"]["Type"], "layers");
    assert_eq!(inspect["RootFS"]["Layers"].as_array().unwrap().len(), 4);
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Created"], "2026-11-22T04:59:03.8835888Z");
    let size = inspect["Size"].as_u64().unwrap();
    assert!(size > 1_900_000, "busybox binary alone is ~1.9 MB: {size}");

    let history = store.history("fixtures/whiteouts:1").unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[0].id, id.to_string());
    assert!(history[0].created_by.contains("CMD"));
    assert_eq!(history[0].size, 0, "empty layer");
    assert!(history[3].created_by.contains("rm -rf /opaque"));
    assert_eq!(history[3].size, 4, "opaque/new");
    assert!(history[6].size > 1_900_000);
    assert_eq!(history[6].comment, "Imported from -");

    let usage = store.disk_usage(&NoUsers).unwrap();
    assert_eq!(usage.images.len(), 1);
    assert_eq!(usage.images[0].size, size);
    assert_eq!(usage.images[0].shared_size, 0);
    assert_eq!(usage.layers_size, size);
    assert_eq!(usage.reclaimable, size);
    assert!(usage.blobs_size > 2_000_000);
}

#[test]
fn save_and_load_round_trip_in_both_formats() {
    let (_root, store, id) = loaded("save", "whiteouts.docker-archive.tar");
    for format in [ArchiveFormat::Docker, ArchiveFormat::Oci] {
        let archive = store
            .save_archive(&["fixtures/whiteouts:1"], format, Vec::new())
            .unwrap();
        let other_root = common::temp_root("reload");
        let other = Store::open(other_root.path()).unwrap();
        let reloaded = other.load_archive(archive.as_slice()).unwrap();
        assert_eq!(reloaded.len(), 1);
        assert_eq!(
            reloaded[0].id, id,
            "{format:?}: image ID is the config digest"
        );
        assert_eq!(
            reloaded[0].repo_tags[0].familiar_string(),
            "fixtures/whiteouts:1"
        );
        assert_eq!(
            reloaded[0].chain_id,
            store.images.resolve(&id.to_string()).unwrap().chain_id
        );
        // The same bytes gzip'd load too.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &archive).unwrap();
        let third_root = common::temp_root("reloadgz");
        let third = Store::open(third_root.path()).unwrap();
        assert_eq!(
            third.load_archive(gz.finish().unwrap().as_slice()).unwrap()[0].id,
            id
        );
    }
}

#[test]
fn import_rootfs_and_export_round_trip() {
    berth_testutil::require_root();
    let root = common::temp_root("import");
    let store = Store::open(root.path()).unwrap();
    let source = store
        .load_archive(File::open(common::fixture("whiteouts.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    let mount = store
        .prepare_container(
            "import-src",
            &source.id.to_string(),
            berth_store::snapshot::Driver::Copy,
        )
        .unwrap();
    let exported = berth_store::archive::export_dir(&mount.source, Vec::new()).unwrap();
    let mut zst = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    std::io::Write::write_all(&mut zst, &exported).unwrap();
    let imported = store
        .import_rootfs(zst.finish().unwrap().as_slice(), Some("flat:1"))
        .unwrap();
    assert_eq!(imported.layers.len(), 1);
    assert_eq!(
        imported.layers[0].media_type,
        berth_oci::media_type::OCI_LAYER_ZSTD
    );
    assert_eq!(
        imported.layers[0].diff_id,
        Digest::sha256_of(&exported),
        "diffID is the uncompressed tar's digest"
    );
    let mount2 = store
        .prepare_container("import-dst", "flat:1", berth_store::snapshot::Driver::Copy)
        .unwrap();
    let again = berth_store::archive::export_dir(&mount2.source, Vec::new()).unwrap();
    assert_eq!(
        common::listing(again.as_slice()),
        common::listing(exported.as_slice())
    );
    let history = store.history("flat:1").unwrap();
    assert_eq!(history[0].comment, "Imported from -");
    store.snapshots.remove("import-src").unwrap();
    store.snapshots.remove("import-dst").unwrap();
}

#[test]
fn oci_layout_directory_loads_like_the_archive() {
    let (_root, store, id) = loaded("layoutdir", "busybox.oci-archive.tar");
    let layout = common::temp_root("layout");
    tar::Archive::new(File::open(common::fixture("busybox.oci-archive.tar")).unwrap())
        .unpack(layout.path())
        .unwrap();
    let other_root = common::temp_root("layoutstore");
    let other = Store::open(other_root.path()).unwrap();
    let images = other.load_layout_dir(layout.path()).unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].id, id);
    assert_eq!(
        images[0].repo_tags,
        store.images.resolve(&id.to_string()).unwrap().repo_tags
    );
}
