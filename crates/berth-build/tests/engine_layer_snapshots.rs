//! A step's overlay upper dir is kept as its layer's snapshot (no unpacking of the blob it
//! was encoded to), so the two must hold the same tree: every layer a build makes, unpacked
//! from its blob, equals the snapshot a container of the image mounts.

mod engine_support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use berth_build::engine::{Compression, encode_upper};
use berth_oci::Digest;
use berth_store::snapshot::chain_ids;
use engine_support::Env;

/// What a tree looks like to a container: per path, type, mode, owner, size and content (or
/// link target), whole-second mtime (tar keeps no more), opaque marks and hard-link groups.
fn describe(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    walk(root, root, &mut out, &mut inodes);
    out
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<String, String>,
    inodes: &mut BTreeMap<u64, String>,
) {
    let mut paths: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let meta = fs::symlink_metadata(&path).unwrap();
        let kind = meta.file_type();
        let owner = format!("{}:{}", meta.uid(), meta.gid());
        let text = if kind.is_char_device() && meta.rdev() == 0 {
            "whiteout".to_string()
        } else if kind.is_dir() {
            let mut opaque = [0u8; 1];
            let is_opaque =
                rustix::fs::lgetxattr(&path, "trusted.overlay.opaque", &mut opaque[..]).is_ok();
            format!(
                "dir {:o} {owner} mtime={} opaque={is_opaque}",
                meta.mode() & 0o7777,
                meta.mtime()
            )
        } else if kind.is_symlink() {
            format!("symlink -> {}", fs::read_link(&path).unwrap().display())
        } else if kind.is_file() {
            let mut content = String::new();
            fs::File::open(&path)
                .unwrap()
                .read_to_string(&mut content)
                .unwrap();
            let link = if meta.nlink() > 1 {
                let first = inodes.entry(meta.ino()).or_insert_with(|| rel.clone());
                format!(" linked-with={first}")
            } else {
                String::new()
            };
            format!(
                "file {:o} {owner} mtime={} {content:?}{link}",
                meta.mode() & 0o7777,
                meta.mtime()
            )
        } else if kind.is_fifo() {
            format!("fifo {:o} {owner}", meta.mode() & 0o7777)
        } else {
            format!("other {:?}", kind)
        };
        out.insert(rel, text);
        if kind.is_dir() {
            walk(root, &path, out, inodes);
        }
    }
}

#[test]
fn every_built_layer_snapshot_equals_its_blob_unpacked() {
    let env = Env::new();
    // Whiteouts (rm of a base file), an opaque dir (a base dir replaced), hard links,
    // symlinks, a FIFO, modes and owners; COPY and WORKDIR layers too.
    env.write(&[("ctx-file", "from the context\n")]);
    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         RUN rm /bin/sed && rm -rf /root && mkdir /root && echo new > /root/new \
             && mkdir -p /d/sub && echo a > /d/a && ln /d/a /d/hard && ln -s a /d/sym \
             && mkfifo /d/fifo && chmod 4750 /d/a && chown 12:34 /d/sub\n\
         WORKDIR /work/dir\n\
         COPY --chmod=600 ctx-file /work/dir/\n\
         RUN echo appended >> /d/a && rm /d/sym\n",
    );
    let layers = &result.image.layers;
    let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let chains = chain_ids(&diff_ids);
    let index = env.store.snapshots.index();
    // The base image's layer was unpacked by load; check the four this build made.
    assert_eq!(layers.len(), 5, "{layers:#?}");
    for (layer, chain) in layers.iter().zip(&chains).skip(1) {
        let record = index.layers.get(chain).expect("layer snapshot recorded");
        let snapshot = env.store.snapshots.fs_dir(record.id);
        let unpacked = tempfile::tempdir().unwrap();
        let blob = env.store.content.open_blob(&layer.digest).unwrap();
        let applied = berth_store::layer::apply_layer(blob, unpacked.path()).unwrap();
        assert_eq!(applied.diff_id, layer.diff_id);
        assert_eq!(record.size, applied.content_size, "layer {}", layer.diff_id);
        let (kept, fresh) = (describe(&snapshot), describe(unpacked.path()));
        assert_eq!(
            kept, fresh,
            "snapshot of {} differs from its blob",
            layer.diff_id
        );
        assert!(!snapshot.parent().unwrap().join("work").exists());
        if chain == &chains[1] {
            // The comparison covered every kind of entry the first RUN made.
            assert_eq!(kept["bin/sed"], "whiteout");
            assert!(kept["root"].contains("opaque=true"), "{kept:#?}");
            assert!(kept["d/hard"].ends_with("linked-with=d/a"), "{kept:#?}");
            assert!(kept["d/a"].starts_with("file 4750 "), "{kept:#?}");
            assert!(kept["d/sub"].contains(" 12:34 "), "{kept:#?}");
            assert_eq!(kept["d/sym"], "symlink -> a");
            assert!(kept["d/fifo"].starts_with("fifo"), "{kept:#?}");
        }
    }
    let view = env.view(&result);
    assert_eq!(view.read("/d/a"), "a\nappended\n");
    assert_eq!(view.read("/root/new"), "new\n");
    assert!(!view.path("/bin/sed").exists() && !view.path("/d/sym").exists());
    drop(view);
    env.assert_clean();
}

#[test]
fn encoding_keeps_hard_links_and_file_capabilities_and_leaves_out_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let upper = dir.path();
    fs::write(upper.join("ping"), b"binary").unwrap();
    fs::hard_link(upper.join("ping"), upper.join("ping6")).unwrap();
    // VFS_CAP_REVISION_2 with CAP_NET_RAW (13) permitted and effective.
    let mut capability = vec![0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00];
    capability.extend_from_slice(&[0u8; 12]);
    rustix::fs::setxattr(
        upper.join("ping"),
        "security.capability",
        &capability,
        rustix::fs::XattrFlags::empty(),
    )
    .expect("root sets security.capability");
    let socket = upper.join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();

    let layer = encode_upper(upper, None, Compression::Gzip)
        .unwrap()
        .expect("a non-empty dir gives a layer");
    assert_eq!(layer.left_out, vec![socket]);
    assert_eq!(layer.content_size, 6, "the linked file counts once");
    let tar = flate2::read::GzDecoder::new(&layer.data[..]);
    let mut archive = tar::Archive::new(tar);
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let kind = entry.header().entry_type();
        let link = entry.link_name().unwrap().map(|l| l.display().to_string());
        let mut caps = None;
        if let Some(pax) = entry.pax_extensions().unwrap() {
            for ext in pax {
                let ext = ext.unwrap();
                if ext.key().unwrap() == "SCHILY.xattr.security.capability" {
                    caps = Some(ext.value_bytes().to_vec());
                }
            }
        }
        seen.push((path, kind, link, caps));
    }
    assert_eq!(
        seen,
        vec![
            (
                "ping".to_string(),
                tar::EntryType::Regular,
                None,
                Some(capability)
            ),
            (
                "ping6".to_string(),
                tar::EntryType::Link,
                Some("ping".to_string()),
                None
            ),
        ]
    );
}
