//! Golden tests: each fixture image is loaded, a container snapshot is prepared (overlay and the
//! copy fallback), mounted, exported as a tar, and its listing compared with tests/golden/<image>.
//!
//! How the golden files were verified (Docker is not available here as a daemon):
//! - busybox and debian are single-layer images, so `docker create` + `docker export` yields the
//!   layer itself; `single_layer_golden_matches_layer_tar` checks the golden listing against a
//!   listing read straight from the layer tar with the `tar` crate, independent of our code.
//! - whiteouts was derived from whiteouts.Dockerfile and its four layer tars; the facts Docker's
//!   export shows are asserted one by one in `whiteouts_semantics` (deleted files gone, opaque
//!   dir replaced, /d/b chowned to 1000 while its former hard link /e/hard-b keeps uid 0 and
//!   the 2020 mtime, dangling symlink kept, FIFO kept), and the docker-archive and OCI-archive
//!   forms of each image, via both drivers, must all give the identical listing.
//!
//! Regenerate deliberately with `BERTH_UPDATE_GOLDEN=1 cargo test -p berth-store --test golden`
//! and review the diff.

mod common;

use std::fs::File;

use berth_store::Store;
use berth_store::archive::export_dir;
use berth_store::snapshot::{Driver, MountGuard};

fn exported_listing(archive: &str, image: &str, driver: Driver) -> String {
    berth_testutil::require_root();
    let root = common::temp_root("golden");
    let store = Store::open(&root.path().join("store")).unwrap();
    let loaded = store
        .load_archive(File::open(common::fixture(archive)).unwrap())
        .unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].repo_tags[0].familiar_string(), image);
    let key = format!("store-test-{}", std::process::id());
    let mount = store.prepare_container(&key, image, driver).unwrap();
    match driver {
        Driver::Overlay => assert_eq!(mount.fs_type, "overlay"),
        Driver::Copy => assert!(mount.is_bind()),
    }
    let target = root.path().join("mnt");
    std::fs::create_dir(&target).unwrap();
    let listing = {
        let _guard = MountGuard::mount(&mount, &target).unwrap();
        let tar = export_dir(&target, Vec::new()).unwrap();
        common::listing(tar.as_slice())
    };
    store.snapshots.remove(&key).unwrap();
    listing
}

fn check(golden: &str, archive: &str, image: &str) {
    for driver in [Driver::Overlay, Driver::Copy] {
        let listing = exported_listing(archive, image, driver);
        common::check_golden(golden, &listing);
    }
}

#[test]
fn busybox_docker_archive() {
    check(
        "busybox.txt",
        "busybox.docker-archive.tar",
        "fixtures/busybox:1.35",
    );
}

#[test]
fn busybox_oci_archive() {
    check(
        "busybox.txt",
        "busybox.oci-archive.tar",
        "fixtures/busybox:1.35",
    );
}

#[test]
fn whiteouts_docker_archive() {
    check(
        "whiteouts.txt",
        "whiteouts.docker-archive.tar",
        "fixtures/whiteouts:1",
    );
}

#[test]
fn whiteouts_oci_archive() {
    check(
        "whiteouts.txt",
        "whiteouts.oci-archive.tar",
        "fixtures/whiteouts:1",
    );
}

#[test]
fn debian_oci_archive() {
    check(
        "debian-bookworm.txt",
        "debian-bookworm.oci-archive.tar",
        "fixtures/debian:bookworm",
    );
}

fn line_for<'a>(listing: &'a str, path: &str) -> Option<&'a str> {
    listing.lines().find(|l| l.split(' ').nth(7) == Some(path))
}

#[test]
fn whiteouts_semantics() {
    for driver in [Driver::Overlay, Driver::Copy] {
        let listing = exported_listing(
            "whiteouts.docker-archive.tar",
            "fixtures/whiteouts:1",
            driver,
        );
        let field = |path: &str, n: usize| -> String {
            let line =
                line_for(&listing, path).unwrap_or_else(|| panic!("{path} missing ({driver:?})"));
            line.split(' ').nth(n).unwrap().to_owned()
        };
        assert!(
            line_for(&listing, "d/a").is_none(),
            "d/a was deleted in layer 3 ({driver:?})"
        );
        assert!(
            line_for(&listing, "d/sub").is_none() && line_for(&listing, "d/sub/s").is_none(),
            "d/sub deleted"
        );
        assert!(
            line_for(&listing, "opaque/old").is_none(),
            "opaque dir must hide older content"
        );
        assert_eq!(field("opaque/new", 4), "4");
        assert_eq!(
            (field("d/b", 2), field("d/b", 3)),
            ("1000".to_owned(), "1000".to_owned()),
            "chowned in layer 3"
        );
        let mtime: u64 = field("d/b", 5).parse().unwrap();
        assert!(
            (1_577_836_800..1_577_923_200).contains(&mtime),
            "2020-01-01 mtime kept: {mtime}"
        );
        assert_eq!(
            field("e/hard-b", 2),
            "0",
            "former hard link keeps uid 0 ({driver:?})"
        );
        assert_eq!(field("e/hard-b", 6), field("d/b", 6), "same content b\\n");
        assert_eq!(field("e/fifo", 0), "p");
        let link = line_for(&listing, "e/link-a").unwrap();
        assert!(
            link.starts_with("l ") && link.ends_with("e/link-a -> /d/a"),
            "dangling symlink kept: {link}"
        );
    }
}

#[test]
fn setuid_survives_in_its_layer_snapshot() {
    berth_testutil::require_root();
    let root = common::temp_root("setuid");
    let store = Store::open(root.path()).unwrap();
    let image = store
        .load_archive(File::open(common::fixture("whiteouts.oci-archive.tar")).unwrap())
        .unwrap()
        .remove(0);
    let index = store.snapshots.index();
    let chain = berth_store::snapshot::chain_ids(
        &image
            .layers
            .iter()
            .map(|l| l.diff_id.clone())
            .collect::<Vec<_>>(),
    );
    let layer2 = &index.layers[&chain[1]];
    let meta = std::fs::symlink_metadata(store.snapshots.fs_dir(layer2.id).join("d/a")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        meta.permissions().mode() & 0o7777,
        0o4755,
        "setuid set after chown"
    );
    let layer3 = &index.layers[&chain[2]];
    let whiteout =
        std::fs::symlink_metadata(store.snapshots.fs_dir(layer3.id).join("d/a")).unwrap();
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(
        whiteout.file_type().is_char_device() && whiteout.rdev() == 0,
        "overlay whiteout for d/a"
    );
    let layer4 = &index.layers[&chain[3]];
    let mut buf = [0u8; 2];
    let n = rustix::fs::lgetxattr(
        store.snapshots.fs_dir(layer4.id).join("opaque"),
        "trusted.overlay.opaque",
        &mut buf[..],
    )
    .unwrap();
    assert_eq!(&buf[..n], b"y");
}

#[test]
fn single_layer_golden_matches_layer_tar() {
    let cases = [
        ("busybox.txt", "busybox.oci-archive.tar"),
        ("debian-bookworm.txt", "debian-bookworm.oci-archive.tar"),
    ];
    for (golden, archive) in cases {
        let root = common::temp_root("single");
        let store = Store::open(root.path()).unwrap();
        let image = store
            .load_archive(File::open(common::fixture(archive)).unwrap())
            .unwrap()
            .remove(0);
        assert_eq!(image.layers.len(), 1);
        let blob = store.content.open_blob(&image.layers[0].digest).unwrap();
        let (_, tar) = berth_store::layer::decompressed(blob).unwrap();
        let from_layer = common::listing(tar);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(golden);
        let expected = std::fs::read_to_string(path).unwrap();
        assert!(
            expected == from_layer,
            "{golden} differs from the layer tar itself"
        );
    }
}
