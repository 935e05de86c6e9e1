//! Maintenance beside a live server: gc running in a loop while pushes go on never leaves an
//! accepted image with a missing blob, and the server expires abandoned upload sessions itself
//! while sparing active ones.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_oci::Digest;
use berth_registry::server::storage::Storage;
use berth_registry::server::storage::gc::GcOptions;
use bytes::Bytes;
use common::{Client, OCI_MANIFEST, TestServer, image_manifest};

/// Stops and joins the gc thread even when an assertion fails.
struct GcLoop {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl GcLoop {
    fn start(root: std::path::PathBuf, grace: Duration) -> GcLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let storage = Storage::open(&root).expect("open storage");
            let opts = GcOptions {
                dry_run: false,
                blob_grace: grace,
                upload_max_age: Duration::from_secs(3600),
            };
            let mut deleted = 0;
            while !flag.load(Ordering::Relaxed) {
                deleted += storage.gc(&opts).expect("gc").blobs_deleted.len();
                // A breath between runs, so pushes can get through the no-grace gc even on a
                // loaded machine (how many do depends on timing; the test needs only a few).
                std::thread::sleep(Duration::from_millis(100));
            }
            deleted
        });
        GcLoop {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the loop; the number of blobs it deleted.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().expect("gc thread"))
            .unwrap_or_default()
    }
}

impl Drop for GcLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Pushes config, a layer shared by every image, an own layer, then the manifest. Returns the
/// manifest (digest, body) when accepted; `None` when a blob push or the manifest was refused
/// because gc removed a blob the push had uploaded but not yet referenced.
async fn push_racing_gc(c: &Client, i: usize) -> Option<(Digest, Vec<u8>)> {
    let config = format!("{{\"n\":{i}}}").into_bytes();
    let shared = b"base layer shared by every image".repeat(50);
    let own = format!("layer {i} ").repeat(200).into_bytes();
    let mut refs = Vec::new();
    for data in [&config, &shared, &own] {
        let digest = Digest::sha256_of(data);
        let r = c
            .send(
                "POST",
                &format!("/v2/race/blobs/uploads/?digest={digest}"),
                &[],
                Bytes::copy_from_slice(data),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        refs.push((digest, data.len()));
    }
    let manifest = image_manifest(
        (&refs[0].0, refs[0].1),
        &[(&refs[1].0, refs[1].1), (&refs[2].0, refs[2].1)],
        None,
        None,
    );
    let r = c
        .put_manifest("race", &format!("t{i}"), OCI_MANIFEST, &manifest)
        .await;
    match r.status {
        201 => Some((Digest::sha256_of(&manifest), manifest)),
        _ => {
            assert_eq!(
                r.error_code(),
                "MANIFEST_BLOB_UNKNOWN",
                "status {}",
                r.status
            );
            None
        }
    }
}

async fn assert_pullable(c: &Client, accepted: &[(Digest, Vec<u8>)]) {
    for (digest, body) in accepted {
        let r = c.get(&format!("/v2/race/manifests/{digest}")).await;
        assert_eq!(r.status, 200, "manifest {digest}");
        assert_eq!(&r.body, body);
        let m: serde_json::Value = serde_json::from_slice(body).unwrap();
        let mut descs = vec![m["config"].clone()];
        descs.extend(m["layers"].as_array().unwrap().iter().cloned());
        for d in descs {
            let blob = d["digest"].as_str().unwrap();
            let r = c.get(&format!("/v2/race/blobs/{blob}")).await;
            assert_eq!(r.status, 200, "blob {blob} of accepted manifest {digest}");
            assert_eq!(Digest::sha256_of(&r.body).to_string(), blob);
        }
    }
}

/// The harshest setting, no grace period: gc deletes every unreferenced blob it sees, so some
/// pushes are refused (MANIFEST_BLOB_UNKNOWN), but every accepted image stays complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_without_grace_beside_pushes_never_breaks_an_accepted_image() {
    let server = TestServer::start().await;
    let c = server.client();
    let orphan = c.push_blob("race", b"unreferenced").await;
    let gc = GcLoop::start(server.root.path().join("data"), Duration::ZERO);
    let mut accepted = Vec::new();
    let mut attempts = 0;
    // Many pushes lose the race; keep pushing new images until 15 got through.
    while accepted.len() < 15 && attempts < 300 {
        if let Some(m) = push_racing_gc(&c, attempts).await {
            accepted.push(m);
        }
        attempts += 1;
    }
    let deleted = gc.finish();
    eprintln!(
        "{} of {attempts} pushes accepted, {deleted} blobs deleted by gc meanwhile",
        accepted.len()
    );
    assert_eq!(accepted.len(), 15, "pushes kept being refused");
    assert!(deleted > 0, "gc deleted nothing, not even the orphan");
    assert_eq!(c.get(&format!("/v2/race/blobs/{orphan}")).await.status, 404);
    assert_pullable(&c, &accepted).await;
    // A final gc after the dust settles keeps them all too.
    let storage = Storage::open(&server.root.path().join("data")).unwrap();
    storage
        .gc(&GcOptions {
            dry_run: false,
            blob_grace: Duration::ZERO,
            upload_max_age: Duration::from_secs(3600),
        })
        .unwrap();
    assert_pullable(&c, &accepted).await;
}

/// With a grace period longer than a push takes, gc beside the server is invisible to clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_with_grace_beside_pushes_refuses_nothing() {
    let server = TestServer::start().await;
    let c = server.client();
    // An unreferenced, old blob gc should delete meanwhile.
    let orphan = c.push_blob("race", b"orphan").await;
    let orphan_path = server
        .root
        .path()
        .join("data/blobs/sha256")
        .join(orphan.hex());
    std::fs::File::options()
        .write(true)
        .open(&orphan_path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let gc = GcLoop::start(server.root.path().join("data"), Duration::from_secs(60));
    let mut accepted = Vec::new();
    for i in 0..30 {
        accepted.push(push_racing_gc(&c, i).await.expect("push refused beside gc"));
    }
    let deleted = gc.finish();
    assert!(deleted >= 1, "the old orphan was not collected");
    assert!(!orphan_path.exists());
    assert_pullable(&c, &accepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_expires_abandoned_uploads_but_not_active_ones() {
    let server = TestServer::with(|c| {
        c.gc_upload_max_age_secs = 1;
        c.upload_expiry_interval_secs = 1;
    })
    .await;
    let c = server.client();
    let start = |c: Client| async move {
        let r = c
            .send("POST", "/v2/exp/blobs/uploads/", &[], Bytes::new())
            .await;
        assert_eq!(r.status, 202);
        r.header("Location").unwrap().to_owned()
    };
    let abandoned = start(c.clone()).await;
    let active = start(c.clone()).await;
    let mut data = Vec::new();
    for i in 0..12u8 {
        let chunk = vec![i; 100];
        let r = c.send("PATCH", &active, &[], chunk.clone()).await;
        assert_eq!(r.status, 202, "active upload expired after {i} chunks");
        data.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let r = c.get(&abandoned).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "BLOB_UPLOAD_UNKNOWN");
    let uploads = server.root.path().join("data/uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 1);
    let digest = Digest::sha256_of(&data);
    let r = c
        .send(
            "PUT",
            &format!("{active}?digest={digest}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(c.get(&format!("/v2/exp/blobs/{digest}")).await.body, data);
}
