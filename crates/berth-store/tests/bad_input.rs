//! Bad input: every case fails with an error naming the entry or digest, and leaves nothing
//! half-written (no blob, no snapshot directory, no image record).

mod common;

use std::io::Write;
use std::path::Path;

use berth_oci::Digest;
use berth_store::content::ContentError;
use berth_store::snapshot::SnapshotError;
use berth_store::{Store, StoreError};

/// A tar header with raw name/link bytes, bypassing the `tar` crate's own path checks (which
/// refuse exactly the hostile names we need to produce).
fn raw_entry(out: &mut Vec<u8>, kind: tar::EntryType, name: &str, link: &str, data: &[u8]) {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_size(data.len() as u64);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn finish(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

fn numeric_snapshot_dirs(root: &Path) -> Vec<String> {
    common::dir_names(&root.join("snapshots"))
        .into_iter()
        .filter(|n| n != "index.json")
        .collect()
}

fn blob_names(root: &Path) -> Vec<String> {
    common::dir_names(&root.join("blobs/sha256"))
}

fn assert_layer_refused(tar: Vec<u8>, expect_in_message: &str) {
    assert_layer_refused_as(tar, None, expect_in_message)
}

/// `diff_id`: what the image config claims, named in errors about the whole stream.
fn assert_layer_refused_as(tar: Vec<u8>, diff_id: Option<&Digest>, expect_in_message: &str) {
    berth_testutil::require_root();
    let root = common::temp_root("bad");
    let store = Store::open(root.path()).unwrap();
    let err = store
        .snapshots
        .apply_layer(None, diff_id, tar.as_slice())
        .unwrap_err();
    if let Some(diff_id) = diff_id {
        assert!(
            err.to_string().contains(&diff_id.to_string()),
            "{err} should name the layer"
        );
    }
    let message = err.to_string();
    assert!(
        message.contains(expect_in_message),
        "error {message:?} should mention {expect_in_message:?}"
    );
    assert_eq!(
        numeric_snapshot_dirs(root.path()),
        Vec::<String>::new(),
        "no snapshot dir may remain"
    );
    assert!(store.snapshots.index().layers.is_empty());
    // Reopening finds a consistent, empty store.
    drop(store);
    let reopened = Store::open(root.path()).unwrap();
    assert!(reopened.snapshots.index().layers.is_empty());
}

#[test]
fn dotdot_entry_is_refused() {
    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Regular, "../x", "", b"escape");
    assert_layer_refused(finish(tar), "\"../x\"");
}

#[test]
fn absolute_entry_is_refused() {
    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Regular, "/abs", "", b"abs");
    assert_layer_refused(finish(tar), "\"/abs\"");
}

#[test]
fn file_through_symlinked_parent_is_refused() {
    let victim = format!("tmp/berth-store-victim-{}", std::process::id());
    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Symlink, "a", "/", b"");
    raw_entry(
        &mut tar,
        tar::EntryType::Regular,
        &format!("a/{victim}"),
        "",
        b"pwned",
    );
    assert_layer_refused(finish(tar), "symlink");
    assert!(
        !Path::new("/").join(&victim).exists(),
        "extraction escaped through the symlink"
    );

    let mut tar = Vec::new();
    raw_entry(
        &mut tar,
        tar::EntryType::Symlink,
        "up",
        "../../../../../../..",
        b"",
    );
    raw_entry(
        &mut tar,
        tar::EntryType::Regular,
        &format!("up/{victim}"),
        "",
        b"pwned",
    );
    assert_layer_refused(finish(tar), "symlink");
    assert!(!Path::new("/").join(&victim).exists());
}

#[test]
fn hard_link_escapes_are_refused() {
    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Link, "shadow", "/etc/shadow", b"");
    assert_layer_refused(finish(tar), "/etc/shadow");

    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Link, "up", "../..", b"");
    assert_layer_refused(finish(tar), "\"../..\"");

    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Symlink, "s", "/etc", b"");
    raw_entry(
        &mut tar,
        tar::EntryType::Link,
        "via-symlink",
        "s/passwd",
        b"",
    );
    assert_layer_refused(finish(tar), "s/passwd");

    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Link, "early", "not-yet", b"");
    assert_layer_refused(finish(tar), "not-yet");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn small_layer() -> Vec<u8> {
    let mut tar = Vec::new();
    raw_entry(&mut tar, tar::EntryType::Directory, "etc/", "", b"");
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    raw_entry(&mut tar, tar::EntryType::Regular, "etc/data", "", &big);
    finish(tar)
}

#[test]
fn corrupted_gzip_layer_is_refused() {
    let mut compressed = gzip(&small_layer());
    let middle = compressed.len() / 2;
    for byte in &mut compressed[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    let diff_id = Digest::sha256_of(&small_layer());
    assert_layer_refused_as(compressed, Some(&diff_id), "corrupt");
}

#[test]
fn truncated_gzip_layer_is_refused() {
    let compressed = gzip(&small_layer());
    let diff_id = Digest::sha256_of(&small_layer());
    assert_layer_refused_as(
        compressed[..compressed.len() / 2].to_vec(),
        Some(&diff_id),
        "reading layer tar",
    );
}

#[test]
fn diff_id_mismatch_is_refused() {
    berth_testutil::require_root();
    let root = common::temp_root("diffid");
    let store = Store::open(root.path()).unwrap();
    let wrong = Digest::sha256_of(b"not this layer");
    let err = store
        .snapshots
        .apply_layer(None, Some(&wrong), small_layer().as_slice())
        .unwrap_err();
    assert!(matches!(err, SnapshotError::DiffIdMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&wrong.to_string()));
    assert!(numeric_snapshot_dirs(root.path()).is_empty());
}

#[test]
fn blob_with_wrong_digest_size_or_truncation_is_refused() {
    let root = common::temp_root("blob");
    let store = Store::open(root.path()).unwrap();
    let data = b"some blob content".repeat(1000);
    let digest = Digest::sha256_of(&data);
    let len = data.len() as u64;

    let truncated = store
        .content
        .ingest(&data[..data.len() - 7], &digest, Some(len))
        .unwrap_err();
    assert!(
        matches!(truncated, ContentError::SizeMismatch { .. }),
        "{truncated}"
    );
    assert!(truncated.to_string().contains(&digest.to_string()));

    let other = Digest::sha256_of(b"other");
    let wrong = store
        .content
        .ingest(data.as_slice(), &other, Some(len))
        .unwrap_err();
    assert!(
        matches!(wrong, ContentError::DigestMismatch { .. }),
        "{wrong}"
    );
    assert!(wrong.to_string().contains(&other.to_string()));

    let too_long = store
        .content
        .ingest(data.as_slice(), &digest, Some(len - 1))
        .unwrap_err();
    assert!(
        matches!(too_long, ContentError::SizeMismatch { .. }),
        "{too_long}"
    );
    let too_short = store
        .content
        .ingest(data.as_slice(), &digest, Some(len + 1))
        .unwrap_err();
    assert!(
        matches!(too_short, ContentError::SizeMismatch { .. }),
        "{too_short}"
    );

    assert_eq!(
        blob_names(root.path()),
        Vec::<String>::new(),
        "no blob or temp file may remain"
    );

    // sha512 digests are accepted too.
    let sha512: Digest = {
        use sha2::Digest as _;
        Digest::from_sha512_bytes(&sha2::Sha512::digest(&data))
    };
    assert_eq!(
        store
            .content
            .ingest(data.as_slice(), &sha512, Some(len))
            .unwrap(),
        len
    );
    assert!(store.content.contains(&sha512));
}

/// An OCI layout tar holding one image whose single layer has `layer_media_type`.
fn oci_archive(layer: &[u8], layer_media_type: &str, config_diff_id: &Digest) -> Vec<u8> {
    let layer_digest = Digest::sha256_of(layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [config_diff_id]}
    }))
    .unwrap();
    let config_digest = Digest::sha256_of(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_oci::media_type::OCI_MANIFEST,
        "config": {"mediaType": berth_oci::media_type::OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": layer_media_type, "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let manifest_digest = Digest::sha256_of(&manifest);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": berth_oci::media_type::OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "bad/image:1"}}],
    }))
    .unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [
        (
            format!("blobs/sha256/{}", layer_digest.hex()),
            layer.to_vec(),
        ),
        (format!("blobs/sha256/{}", config_digest.hex()), config),
        (format!("blobs/sha256/{}", manifest_digest.hex()), manifest),
        ("index.json".to_owned(), index),
        (
            "oci-layout".to_owned(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, data.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn assert_load_refused(archive: Vec<u8>, expect_in_message: &str) {
    berth_testutil::require_root();
    let root = common::temp_root("badload");
    let store = Store::open(root.path()).unwrap();
    let err: StoreError = store.load_archive(archive.as_slice()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(expect_in_message),
        "error {message:?} should mention {expect_in_message:?}"
    );
    assert_eq!(
        blob_names(root.path()),
        Vec::<String>::new(),
        "no blob may remain after a failed load"
    );
    assert!(
        numeric_snapshot_dirs(root.path()).is_empty(),
        "no snapshot dir may remain"
    );
    assert!(store.images.list().is_empty());
}

#[test]
fn unknown_layer_media_type_is_refused() {
    let layer = small_layer();
    let diff_id = Digest::sha256_of(&layer);
    assert_load_refused(
        oci_archive(&layer, "application/x-unknown-layer", &diff_id),
        "application/x-unknown-layer",
    );
}

#[test]
fn archive_with_wrong_diff_id_is_refused() {
    let layer = small_layer();
    let wrong = Digest::sha256_of(b"wrong");
    assert_load_refused(
        oci_archive(&layer, berth_oci::media_type::OCI_LAYER_TAR, &wrong),
        &wrong.to_string(),
    );
}

#[test]
fn archive_blob_not_matching_its_name_is_refused() {
    let layer = small_layer();
    let diff_id = Digest::sha256_of(&layer);
    let mut archive = oci_archive(&layer, berth_oci::media_type::OCI_LAYER_TAR, &diff_id);
    // Flip a byte inside the layer's data (the first entry, after its 512-byte header).
    archive[512 + 2000] ^= 1;
    assert_load_refused(archive, &diff_id.to_string());
}

#[test]
fn garbage_is_not_an_archive() {
    assert_load_refused(finish(Vec::new()), "neither manifest.json");
}
