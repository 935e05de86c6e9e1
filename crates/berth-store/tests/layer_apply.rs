//! Layer application details: ownership before mode (setuid survives), xattrs after chown
//! (security.capability survives), device nodes, FIFOs, hard links, directory mtimes set after
//! their children, zstd, and export carrying the capability back out.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use berth_store::layer::apply_layer;

/// `cap_net_bind_service+ep` in the VFS v2 on-disk format.
const CAP_NET_BIND_SERVICE: [u8; 20] = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn header(kind: tar::EntryType, mode: u32, uid: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_mtime(mtime);
    h.set_size(0);
    h
}

fn rich_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Directory, 0o755, 0, 1_000);
    b.append_data(&mut h, "bin/", std::io::empty()).unwrap();
    b.append_pax_extensions([
        (
            "SCHILY.xattr.security.capability",
            &CAP_NET_BIND_SERVICE[..],
        ),
        ("SCHILY.xattr.user.note", b"hello".as_slice()),
    ])
    .unwrap();
    let mut h = header(tar::EntryType::Regular, 0o4755, 1000, 2_000);
    h.set_size(4);
    b.append_data(&mut h, "bin/ping", b"ping".as_slice())
        .unwrap();
    let mut h = header(tar::EntryType::Link, 0o4755, 1000, 2_000);
    b.append_link(&mut h, "bin/ping-again", "bin/ping").unwrap();
    let mut h = header(tar::EntryType::Directory, 0o1777, 0, 3_000);
    b.append_data(&mut h, "tmp/", std::io::empty()).unwrap();
    let mut h = header(tar::EntryType::Fifo, 0o600, 7, 4_000);
    b.append_data(&mut h, "tmp/fifo", std::io::empty()).unwrap();
    let mut h = header(tar::EntryType::Char, 0o666, 0, 5_000);
    h.set_device_major(1).unwrap();
    h.set_device_minor(3).unwrap();
    b.append_data(&mut h, "tmp/null", std::io::empty()).unwrap();
    let mut h = header(tar::EntryType::Block, 0o660, 0, 5_000);
    h.set_device_major(7).unwrap();
    h.set_device_minor(0).unwrap();
    b.append_data(&mut h, "tmp/loop0", std::io::empty())
        .unwrap();
    let mut h = header(tar::EntryType::Symlink, 0o777, 5, 6_000);
    b.append_link(&mut h, "tmp/abs-link", "/does/not/exist")
        .unwrap();
    let mut h = header(tar::EntryType::Directory, 0o2755, 0, 7_000);
    b.append_data(&mut h, "srv/", std::io::empty()).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn metadata_is_applied_in_the_right_order() {
    berth_testutil::require_root();
    let dir = common::temp_root("apply");
    let layer = rich_layer();
    let mut zst = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    std::io::Write::write_all(&mut zst, &layer).unwrap();
    let applied = apply_layer(zst.finish().unwrap().as_slice(), dir.path()).unwrap();
    assert_eq!(
        applied.diff_id,
        berth_oci::Digest::sha256_of(&layer),
        "diffID of the uncompressed stream"
    );
    assert_eq!(applied.tar_size, layer.len() as u64);
    let root = dir.path();

    let ping = std::fs::symlink_metadata(root.join("bin/ping")).unwrap();
    assert_eq!((ping.uid(), ping.gid()), (1000, 1000));
    assert_eq!(ping.mode() & 0o7777, 0o4755, "setuid set after chown");
    assert_eq!(ping.mtime(), 2_000);
    assert_eq!(ping.nlink(), 2, "hard link kept");
    let mut cap = [0u8; 64];
    let n =
        rustix::fs::lgetxattr(root.join("bin/ping"), "security.capability", &mut cap[..]).unwrap();
    assert_eq!(
        &cap[..n],
        &CAP_NET_BIND_SERVICE,
        "capability set after chown"
    );
    let n = rustix::fs::lgetxattr(root.join("bin/ping"), "user.note", &mut cap[..]).unwrap();
    assert_eq!(&cap[..n], b"hello");

    assert_eq!(
        std::fs::symlink_metadata(root.join("bin")).unwrap().mtime(),
        1_000,
        "dir mtime set after children"
    );
    let tmp = std::fs::symlink_metadata(root.join("tmp")).unwrap();
    assert_eq!(
        (tmp.mode() & 0o7777, tmp.mtime()),
        (0o1777, 3_000),
        "sticky bit and mtime"
    );
    assert_eq!(
        std::fs::symlink_metadata(root.join("srv")).unwrap().mode() & 0o7777,
        0o2755,
        "setgid dir"
    );

    let fifo = std::fs::symlink_metadata(root.join("tmp/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!((fifo.uid(), fifo.mode() & 0o7777), (7, 0o600));
    let null = std::fs::symlink_metadata(root.join("tmp/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (
            rustix::fs::major(null.rdev()),
            rustix::fs::minor(null.rdev())
        ),
        (1, 3)
    );
    assert_eq!(null.mode() & 0o7777, 0o666);
    let loop0 = std::fs::symlink_metadata(root.join("tmp/loop0")).unwrap();
    assert!(loop0.file_type().is_block_device());
    assert_eq!(rustix::fs::major(loop0.rdev()), 7);
    let link = std::fs::symlink_metadata(root.join("tmp/abs-link")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!((link.uid(), link.mtime()), (5, 6_000));
    assert_eq!(
        std::fs::read_link(root.join("tmp/abs-link"))
            .unwrap()
            .to_str(),
        Some("/does/not/exist")
    );

    // Export carries the capability back out as a PAX xattr, and the hard link as a link.
    let exported = berth_store::archive::export_dir(root, Vec::new()).unwrap();
    let mut archive = tar::Archive::new(exported.as_slice());
    let mut saw_cap = false;
    let mut saw_link = false;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "bin/ping" {
            let pax = entry
                .pax_extensions()
                .unwrap()
                .expect("pax header for bin/ping");
            saw_cap = pax.flatten().any(|e| {
                e.key() == Ok("SCHILY.xattr.security.capability")
                    && e.value_bytes() == CAP_NET_BIND_SERVICE
            });
        }
        if path == "bin/ping-again" {
            saw_link = entry.header().entry_type() == tar::EntryType::Link;
        }
    }
    assert!(saw_cap, "exported bin/ping keeps security.capability");
    assert!(saw_link, "exported bin/ping-again is a hard link");
}

#[test]
fn later_entries_replace_earlier_ones_without_following_them() {
    berth_testutil::require_root();
    let dir = common::temp_root("replace");
    let outside = common::temp_root("outside");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Symlink, 0o777, 0, 1);
    b.append_link(&mut h, "x", outside.path().join("target"))
        .unwrap();
    let mut h = header(tar::EntryType::Regular, 0o644, 0, 1);
    h.set_size(3);
    b.append_data(&mut h, "x", b"new".as_slice()).unwrap();
    apply_layer(b.into_inner().unwrap().as_slice(), dir.path()).unwrap();
    assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"new");
    assert!(
        !outside.path().join("target").exists(),
        "a symlink is replaced, never written through"
    );
}
