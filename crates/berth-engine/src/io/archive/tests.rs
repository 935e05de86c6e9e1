use super::*;

struct Fixture {
    outside: tempfile::TempDir,
    root: tempfile::TempDir,
}

/// A rootfs with hostile links: an absolute symlink to a host directory, a relative one
/// climbing far above the root, and a link to a host file.
fn fixture() -> Fixture {
    let outside = tempfile::Builder::new()
        .prefix("berth-io-host-")
        .tempdir()
        .unwrap();
    std::fs::write(outside.path().join("secret"), "host secret").unwrap();
    let root = tempfile::Builder::new()
        .prefix("berth-io-root-")
        .tempdir()
        .unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("data/sub")).unwrap();
    std::fs::write(r.join("data/a.txt"), "alpha").unwrap();
    std::fs::write(r.join("data/sub/b.txt"), "beta").unwrap();
    std::os::unix::fs::symlink(outside.path(), r.join("escape")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../..", r.join("data/up")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), r.join("data/leak")).unwrap();
    Fixture { outside, root }
}

fn entries(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            (path, body)
        })
        .collect()
}

fn get(rootfs: &Rootfs, path: &str) -> Result<Vec<(String, String)>, ArchiveError> {
    let (_, prepared) = rootfs.prepare_get(path)?;
    let mut out = Vec::new();
    prepared.write_to(&mut out).unwrap();
    Ok(entries(&out))
}

#[test]
fn stats_paths_and_links_without_leaving_the_root() {
    let f = fixture();
    let rootfs = Rootfs::open(f.root.path(), "c1").unwrap();
    let stat = rootfs.stat("/data/a.txt").unwrap();
    assert_eq!(
        (stat.name.as_str(), stat.size, stat.mode),
        ("a.txt", 5, 0o644)
    );
    let dir = rootfs.stat("/data/").unwrap();
    assert_eq!(dir.mode & (1 << 31), 1 << 31);
    let link = rootfs.stat("/data/leak").unwrap();
    assert_eq!(link.mode & (1 << 27), 1 << 27);
    assert_eq!(
        link.link_target,
        f.outside.path().join("secret").display().to_string()
    );
    // Through the links, the host file is not reachable.
    for path in ["/escape/secret", "/data/leak/", "/data/up/../../secret"] {
        assert!(
            matches!(rootfs.stat(path), Err(ArchiveError::NotFound { .. })),
            "{path}"
        );
    }
    let missing = rootfs.stat("/nope").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "Could not find the file /nope in container c1"
    );
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    // `..` climbs no higher than the root.
    assert_eq!(rootfs.stat("/data/up/data/a.txt").unwrap().size, 5);
    assert_eq!(rootfs.stat("../../../data/a.txt").unwrap().size, 5);
}

#[test]
fn archives_paths_under_their_base_name() {
    let f = fixture();
    let rootfs = Rootfs::open(f.root.path(), "c1").unwrap();
    let names: Vec<String> = get(&rootfs, "/data")
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        names,
        [
            "data/",
            "data/a.txt",
            "data/leak",
            "data/sub/",
            "data/sub/b.txt",
            "data/up"
        ]
    );
    assert_eq!(
        get(&rootfs, "/data/sub/b.txt").unwrap(),
        [("b.txt".to_string(), "beta".to_string())]
    );
    // A link is archived as itself, never as the host file it names.
    let leak = get(&rootfs, "/data/leak").unwrap();
    assert_eq!(leak, [("leak".to_string(), String::new())]);
    assert!(matches!(
        get(&rootfs, "/escape/secret"),
        Err(ArchiveError::NotFound { .. })
    ));
}

fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn file_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h
}

#[test]
fn extracts_into_directories_and_refuses_escapes() {
    let f = fixture();
    let rootfs = Rootfs::open(f.root.path(), "c1").unwrap();
    let good = tar_of(|b| {
        b.append_data(&mut file_header(3), "new.txt", &b"new"[..])
            .unwrap();
    });
    rootfs
        .extract("/data/sub", &good[..], PutOptions::default())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(f.root.path().join("data/sub/new.txt")).unwrap(),
        "new"
    );
    // A symlinked destination resolves inside the root: the host dir is not written.
    assert!(matches!(
        rootfs.extract("/escape", &good[..], PutOptions::default()),
        Err(ArchiveError::NotFound { .. })
    ));
    assert!(matches!(
        rootfs.extract("/data/a.txt", &good[..], PutOptions::default()),
        Err(ArchiveError::NotADirectory { .. })
    ));
    // Entries that climb out, or go through a link planted in the same tar, are refused.
    let mut dotdot = Vec::new();
    {
        let mut b = tar::Builder::new(&mut dotdot);
        let mut h = file_header(4);
        // `append_data` refuses `..` itself; write the raw name as a hostile client would.
        h.as_old_mut().name[..9].copy_from_slice(b"../escape");
        h.set_cksum();
        b.append(&h, &b"evil"[..]).unwrap();
        b.finish().unwrap();
    }
    assert!(
        rootfs
            .extract("/data", &dotdot[..], PutOptions::default())
            .is_err()
    );
    let via_link = tar_of(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        b.append_link(&mut h, "hop", f.outside.path()).unwrap();
        b.append_data(&mut file_header(4), "hop/owned", &b"evil"[..])
            .unwrap();
    });
    assert!(
        rootfs
            .extract("/data", &via_link[..], PutOptions::default())
            .is_err()
    );
    let host: Vec<_> = std::fs::read_dir(f.outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(host, ["secret"], "nothing written outside the root");
    assert!(!f.root.path().parent().unwrap().join("escape").exists());
}

#[test]
fn exports_the_whole_root() {
    let f = fixture();
    let rootfs = Rootfs::open(f.root.path(), "c1").unwrap();
    let mut out = Vec::new();
    rootfs.export(&mut out).unwrap();
    let names: Vec<String> = entries(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "data/",
            "data/a.txt",
            "data/leak",
            "data/sub/",
            "data/sub/b.txt",
            "data/up",
            "escape"
        ]
    );
}

#[test]
fn converts_unix_modes_to_go_file_modes() {
    assert_eq!(go_file_mode(0o100644), 0o644);
    assert_eq!(go_file_mode(0o040755), (1 << 31) | 0o755);
    assert_eq!(go_file_mode(0o120777), (1 << 27) | 0o777);
    assert_eq!(go_file_mode(0o104755), (1 << 23) | 0o755);
}

fn tar_entry(b: &mut tar::Builder<Vec<u8>>, path: &str, dir: bool, uid: u64) {
    let mut h = tar::Header::new_gnu();
    h.set_size(if dir { 0 } else { 3 });
    h.set_mode(if dir { 0o755 } else { 0o4755 });
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    let body: &[u8] = if dir { b"" } else { b"abc" };
    b.append_data(&mut h, path, body).unwrap();
}

#[test]
fn no_overwrite_dir_non_dir_refuses_both_ways() {
    let f = fixture();
    let rootfs = Rootfs::open(f.root.path(), "c1").unwrap();
    let strict = PutOptions {
        no_overwrite_dir_non_dir: true,
        owner: None,
    };
    // A file where /data/sub (a directory) is.
    let over_dir = tar_of(|b| {
        tar_entry(b, "first.txt", false, 0);
        tar_entry(b, "sub", false, 0);
    });
    let err = rootfs.extract("/data", &over_dir[..], strict).unwrap_err();
    assert!(matches!(err, ArchiveError::Overwrite { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "cannot overwrite directory \"/data/sub\" with non-directory \"/data\""
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(f.root.path().join("data/sub/b.txt").is_file());
    // A directory where /data/a.txt (a file) is.
    let over_file = tar_of(|b| tar_entry(b, "a.txt", true, 0));
    let err = rootfs
        .extract("/data/", &over_file[..], strict)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot overwrite non-directory \"/data/a.txt\" with directory \"/data/\""
    );
    assert_eq!(
        std::fs::read_to_string(f.root.path().join("data/a.txt")).unwrap(),
        "alpha"
    );
    // Same kinds merge/replace as before; without the option a file replaces a directory.
    let same = tar_of(|b| {
        tar_entry(b, "sub", true, 0);
        tar_entry(b, "a.txt", false, 0);
    });
    rootfs.extract("/data", &same[..], strict).unwrap();
    assert!(f.root.path().join("data/sub/b.txt").is_file());
    rootfs
        .extract("/data", &over_dir[..], PutOptions::default())
        .unwrap();
    assert!(f.root.path().join("data/sub").is_file());
}

#[test]
fn copy_uid_gid_gives_every_entry_the_owner_and_keeps_setuid() {
    use std::os::unix::fs::MetadataExt;
    let f = fixture();
    let rootfs = Rootfs::open(f.root.path(), "c1").unwrap();
    let bytes = tar_of(|b| {
        tar_entry(b, "owned", true, 1234);
        tar_entry(b, "owned/tool", false, 1234);
    });
    let opts = PutOptions {
        no_overwrite_dir_non_dir: true,
        owner: Some((42, 43)),
    };
    rootfs.extract("/data", &bytes[..], opts).unwrap();
    for (path, mode) in [("data/owned", 0o755), ("data/owned/tool", 0o4755)] {
        let meta = std::fs::symlink_metadata(f.root.path().join(path)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (42, 43), "{path}");
        assert_eq!(meta.mode() & 0o7777, mode, "{path}");
    }
    // Without an owner the tar's is kept.
    let bytes = tar_of(|b| tar_entry(b, "kept", false, 1234));
    rootfs
        .extract("/data", &bytes[..], PutOptions::default())
        .unwrap();
    let meta = std::fs::symlink_metadata(f.root.path().join("data/kept")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 1234));
}

#[test]
fn copy_owner_resolves_the_containers_user_in_its_rootfs() {
    let f = fixture();
    std::fs::create_dir_all(f.root.path().join("etc")).unwrap();
    std::fs::write(
        f.root.path().join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(f.root.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
    assert_eq!(copy_owner(f.root.path(), "").unwrap(), None);
    assert_eq!(
        copy_owner(f.root.path(), "app").unwrap(),
        Some((1000, 1001))
    );
    assert_eq!(
        copy_owner(f.root.path(), "app:staff").unwrap(),
        Some((1000, 50))
    );
    assert_eq!(copy_owner(f.root.path(), "7:8").unwrap(), Some((7, 8)));
    assert!(copy_owner(f.root.path(), "nobody-here").is_err());
}
