//! The pieces a streamed pull uses: reading a blob while it is written, deferred publishing
//! after one sync, layers unpacked before they are recorded, and zero runs left as holes.

use std::io::Read;
use std::os::unix::fs::MetadataExt;

use berth_oci::Digest;
use berth_store::Store;

/// A one-file gzip'd layer: `data.bin` holding `contents`.
fn gzip_layer(contents: &[u8]) -> (Vec<u8>, Digest) {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    header.set_size(contents.len() as u64);
    builder
        .append_data(&mut header, "data.bin", contents)
        .unwrap();
    let tar = builder.into_inner().unwrap();
    let diff_id = Digest::sha256_of(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

fn temp_entries(store_root: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(store_root.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

#[test]
fn a_follower_reads_what_is_written_as_it_is_written_and_ends_at_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let mut writer = store
        .content
        .writer_verified_by_caller(&digest, Some(data.len() as u64))
        .unwrap();
    let mut follower = writer.follow().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        follower.read_to_end(&mut seen).map(|_| seen)
    });
    for piece in data.chunks(7_000) {
        writer.write(piece).unwrap();
    }
    let pending = writer.commit_deferred().unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), data);
    // Verified but not visible until published.
    assert!(!store.content.contains(&digest));
    assert_eq!(temp_entries(dir.path()).len(), 1);
    store.sync_and_publish(vec![pending]).unwrap();
    assert!(store.content.contains(&digest));
    assert!(temp_entries(dir.path()).is_empty());
}

#[test]
fn an_abandoned_writer_fails_its_follower_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let digest = Digest::sha256_of(b"never finished");
    let mut writer = store.content.writer(&digest, Some(1 << 20)).unwrap();
    let mut follower = writer.follow().unwrap();
    writer.write(&[1u8; 1000]).unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        follower.read_to_end(&mut seen)
    });
    drop(writer);
    let err = reader.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    assert!(temp_entries(dir.path()).is_empty());

    // A verified blob dropped before publishing goes too.
    let data = b"verified, never published";
    let digest = Digest::sha256_of(data);
    let mut writer = store
        .content
        .writer(&digest, Some(data.len() as u64))
        .unwrap();
    writer.write(data).unwrap();
    drop(writer.commit_deferred().unwrap());
    assert!(temp_entries(dir.path()).is_empty());
    assert!(!store.content.contains(&digest));
}

#[test]
fn a_layer_unpacked_while_its_blob_streams_is_recorded_after_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let contents: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let (blob, diff_id) = gzip_layer(&contents);
    let digest = Digest::sha256_of(&blob);
    let mut writer = store
        .content
        .writer_verified_by_caller(&digest, Some(blob.len() as u64))
        .unwrap();
    let follower = writer.follow().unwrap();
    let layer = std::thread::scope(|scope| {
        let unpacking = scope.spawn(|| store.snapshots.unpack_pending(follower));
        for piece in blob.chunks(16_384) {
            writer.write(piece).unwrap();
        }
        let pending = writer.commit_deferred().unwrap();
        let layer = unpacking.join().unwrap().unwrap();
        store.sync_and_publish(vec![pending]).unwrap();
        layer
    });
    assert_eq!(layer.diff_id, diff_id);
    // A wrong diffID is refused and the pending layer removed.
    let wrong = Digest::sha256_of(b"another layer");
    let err = store
        .snapshots
        .record_pending(None, &wrong, layer)
        .unwrap_err();
    assert!(err.to_string().contains(&wrong.to_string()), "{err}");
    let snapshot_dirs = |root: &std::path::Path| {
        std::fs::read_dir(root.join("snapshots"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count()
    };
    assert_eq!(snapshot_dirs(dir.path()), 0);

    // Unpacked again and recorded under the right diffID: its files are there.
    let layer = store.snapshots.unpack_pending(&blob[..]).unwrap();
    let chain = store
        .snapshots
        .record_pending(None, &diff_id, layer)
        .unwrap();
    assert!(store.snapshots.has_layer(&chain));
    let dirs = store.snapshots.layer_dirs(&chain).unwrap();
    assert_eq!(std::fs::read(dirs[0].join("data.bin")).unwrap(), contents);
    assert!(store.content.contains(&digest));
}

#[test]
fn runs_of_zeros_become_holes_with_the_same_contents() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // 8 MiB: zeros, a little data in the middle, zeros to the end (the size must survive).
    let mut contents = vec![0u8; 8 << 20];
    contents[(4 << 20) + 17] = 42;
    let (blob, diff_id) = gzip_layer(&contents);
    let layer = store.snapshots.unpack_pending(&blob[..]).unwrap();
    let chain = store
        .snapshots
        .record_pending(None, &diff_id, layer)
        .unwrap();
    let file = store.snapshots.layer_dirs(&chain).unwrap()[0].join("data.bin");
    assert_eq!(std::fs::read(&file).unwrap(), contents);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.len(), 8 << 20);
    assert!(
        meta.blocks() * 512 < 4 << 20,
        "{} bytes allocated for a file of 8 MiB that is mostly zeros",
        meta.blocks() * 512
    );
}
