//! Pulls unpack layers while they download: a layer whose bytes are wrong fails the pull
//! and leaves nothing behind (no temp blob, no half-unpacked snapshot, no image), and the
//! same pull succeeds once the registry serves the right bytes.

mod images_harness;

use std::path::{Path, PathBuf};

use images_harness::{Daemon, Registry, shared_image};

/// The largest file under `dir`: the registry's copy of the image's biggest layer.
fn largest_file(dir: &Path) -> PathBuf {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if best.as_ref().is_none_or(|(size, _)| meta.len() > *size) {
                best = Some((meta.len(), entry.path()));
            }
        }
    }
    best.expect("the registry holds files").1
}

/// Snapshot directories (numbered) in the daemon's store.
fn snapshot_dirs(daemon: &Daemon) -> Vec<String> {
    std::fs::read_dir(daemon.data_root().join("store/snapshots"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_corrupt_layer_fails_the_pull_and_leaves_nothing() {
    let daemon = Daemon::start();
    let registry = Registry::start(&[]);
    let archive = shared_image("whiteouts.docker-archive.tar");
    daemon.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    let name = format!("{}/streamed/whiteouts:1", registry.addr);
    daemon.docker_ok(&["tag", "fixtures/whiteouts:1", &name]);
    daemon.docker_ok(&["push", &name]);
    daemon.docker_ok(&["rmi", &name, "fixtures/whiteouts:1"]);
    assert_eq!(snapshot_dirs(&daemon), Vec::<String>::new());

    // Same length, one byte changed in the middle of the biggest layer (1.98 MB).
    let layer = largest_file(registry.storage());
    let original = std::fs::read(&layer).unwrap();
    assert!(original.len() > 1_000_000, "{}", layer.display());
    let mut corrupt = original.clone();
    corrupt[original.len() / 2] ^= 0xff;
    std::fs::write(&layer, &corrupt).unwrap();

    let err = daemon.docker_err(&["pull", &name]);
    assert!(err.contains("digest"), "{err}");
    assert_eq!(daemon.docker_ok(&["images", "-q"]), "");
    let temps: Vec<String> = daemon
        .blob_names()
        .into_iter()
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert_eq!(temps, Vec::<String>::new());
    assert_eq!(snapshot_dirs(&daemon), Vec::<String>::new());

    std::fs::write(&layer, &original).unwrap();
    let pulled = daemon.docker_ok(&["pull", &name]);
    assert!(pulled.contains("Pull complete"), "{pulled}");
    // Every layer is recorded and its files are there: a container sees the whiteouts applied.
    let listing = daemon.docker_ok(&["run", "--rm", &name, "ls", "/"]);
    assert!(listing.lines().count() > 3, "{listing}");
    assert!(!daemon.blob_names().iter().any(|n| n.starts_with(".tmp-")));
}
