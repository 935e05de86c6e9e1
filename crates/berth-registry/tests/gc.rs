//! Garbage collection: unreferenced blobs go (after the grace period), referenced ones and
//! fresh ones stay, abandoned uploads expire; `--dry-run` changes nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use berth_oci::Digest;
use berth_registry::server::storage::Storage;
use berth_registry::server::storage::gc::GcOptions;
use bytes::Bytes;
use common::{TestServer, push_image};

fn blob_file(root: &Path, d: &Digest) -> std::path::PathBuf {
    root.join("data/blobs/sha256").join(d.hex())
}

fn opts(dry_run: bool, grace: u64) -> GcOptions {
    GcOptions {
        dry_run,
        blob_grace: Duration::from_secs(grace),
        upload_max_age: Duration::from_secs(grace),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_sweeps_only_unreferenced_content() {
    let server = TestServer::start().await;
    let c = server.client();
    let (kept, kept_body) = push_image(&c, "g", "keep", "k").await;
    let (dropped, _) = push_image(&c, "g", "drop", "d").await;
    let orphan = c.push_blob("g", b"orphan layer").await;
    let r = c
        .send("POST", "/v2/g/blobs/uploads/", &[], Bytes::new())
        .await;
    let abandoned = r.header("Location").unwrap().to_owned();
    assert_eq!(
        c.send(
            "DELETE",
            &format!("/v2/g/manifests/{dropped}"),
            &[],
            Bytes::new()
        )
        .await
        .status,
        202
    );

    let storage = Storage::open(&server.root.path().join("data")).unwrap();
    // Everything is younger than a 1-hour grace period: nothing is deleted.
    let report = storage.gc(&opts(false, 3600)).unwrap();
    assert!(report.blobs_deleted.is_empty());
    assert!(report.blobs_in_grace >= 4, "{report:?}");
    assert!(report.uploads_expired.is_empty());

    // gc compares mtimes with a filesystem timestamp, which may lag a clock tick behind: let
    // one pass so "older than now" holds for what was just pushed.
    std::thread::sleep(Duration::from_millis(50));
    // Dry run with no grace: reports but keeps.
    let report = storage.gc(&opts(true, 0)).unwrap();
    assert!(report.blobs_deleted.contains(&orphan));
    assert!(report.blobs_deleted.contains(&dropped));
    assert!(blob_file(server.root.path(), &orphan).exists());
    assert_eq!(c.get(&format!("/v2/g/blobs/{orphan}")).await.status, 200);

    let report = storage.gc(&opts(false, 0)).unwrap();
    // The dropped manifest, its config and layer, and the orphan: 4 blobs.
    assert_eq!(report.blobs_deleted.len(), 4, "{report:?}");
    assert!(!blob_file(server.root.path(), &orphan).exists());
    assert_eq!(c.get(&format!("/v2/g/blobs/{orphan}")).await.status, 404);
    assert_eq!(report.uploads_expired.len(), 1);
    assert_eq!(c.get(&abandoned).await.status, 404);

    // The kept image is intact and pullable.
    let r = c.get("/v2/g/manifests/keep").await;
    assert_eq!(r.body, kept_body);
    assert_eq!(Digest::sha256_of(&r.body), kept);
    let m: serde_json::Value = serde_json::from_slice(&kept_body).unwrap();
    for d in [&m["config"]["digest"], &m["layers"][0]["digest"]] {
        assert_eq!(
            c.get(&format!("/v2/g/blobs/{}", d.as_str().unwrap()))
                .await
                .status,
            200
        );
    }
    // A second run has nothing left to do.
    assert!(
        storage
            .gc(&opts(false, 0))
            .unwrap()
            .blobs_deleted
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_binary_dry_run_and_real_run() {
    let server = TestServer::start().await;
    let c = server.client();
    let orphan = c.push_blob("bin", b"orphan for the binary").await;
    let root = server.root.path().join("data");
    std::thread::sleep(Duration::from_millis(50)); // a filesystem clock tick, as above
    let bin = env!("CARGO_BIN_EXE_berth-registry");
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(["gc", "--root", root.to_str().unwrap(), "--grace-secs", "0"])
            .args(extra)
            .output()
            .expect("run berth-registry gc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = run(&["--dry-run"]);
    assert!(
        out.contains(&format!("would delete blob {orphan}")),
        "{out}"
    );
    assert!(blob_file(server.root.path(), &orphan).exists());
    let out = run(&[]);
    assert!(out.contains(&format!("deleted blob {orphan}")), "{out}");
    assert!(!blob_file(server.root.path(), &orphan).exists());
}
