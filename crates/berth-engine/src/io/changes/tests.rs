use super::*;
use berth_store::snapshot::{Mount, MountGuard};

fn change(path: &str, kind: Kind) -> Change {
    Change {
        path: path.to_string(),
        kind: kind as u8,
    }
}

#[test]
fn reports_overlay_changes_like_docker() {
    berth_testutil::require_root();
    assert!(
        berth_store::snapshot::overlay_supported(),
        "this test needs overlayfs"
    );
    let dir = tempfile::Builder::new()
        .prefix("berth-io-changes-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    let (lower, upper, work, merged) = (d.join("l"), d.join("u"), d.join("w"), d.join("m"));
    for p in [&upper, &work, &merged] {
        std::fs::create_dir(p).unwrap();
    }
    for sub in ["etc", "data", "keep", "opq"] {
        std::fs::create_dir_all(lower.join(sub)).unwrap();
    }
    std::fs::write(lower.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    std::fs::write(lower.join("data/a"), "a").unwrap();
    std::fs::write(lower.join("data/b"), "b").unwrap();
    std::fs::write(lower.join("keep/x"), "x").unwrap();
    std::fs::write(lower.join("opq/old"), "old").unwrap();
    let mount = Mount {
        fs_type: "overlay".into(),
        source: "overlay".into(),
        options: vec![
            format!("lowerdir={}", lower.display()),
            format!("upperdir={}", upper.display()),
            format!("workdir={}", work.display()),
        ],
    };
    {
        let _guard = MountGuard::mount(&mount, &merged).unwrap();
        let m = |p: &str| merged.join(p);
        std::fs::write(m("etc/passwd"), "root:x:0:0::/root:/bin/ash\n").unwrap();
        std::fs::write(m("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        std::fs::create_dir(m("proc")).unwrap();
        std::fs::write(m("new.txt"), "new").unwrap();
        std::fs::remove_file(m("data/a")).unwrap();
        std::fs::remove_dir_all(m("opq")).unwrap();
        std::fs::create_dir(m("opq")).unwrap();
        std::fs::write(m("opq/fresh"), "fresh").unwrap();
        // Reading copies nothing up.
        std::fs::read(m("keep/x")).unwrap();
    }
    let got = changes(&upper, &[lower]).unwrap();
    assert_eq!(
        got,
        [
            change("/data", Kind::Modified),
            change("/data/a", Kind::Deleted),
            change("/etc/passwd", Kind::Modified),
            change("/new.txt", Kind::Added),
            change("/opq", Kind::Modified),
            change("/opq/fresh", Kind::Added),
        ]
    );
    let json = serde_json::to_value(&got[1]).unwrap();
    assert_eq!(json, serde_json::json!({"Path": "/data/a", "Kind": 2}));
}
