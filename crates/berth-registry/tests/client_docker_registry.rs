//! The client against Debian's docker-registry (distribution 2.8) with skopeo on the other side.

mod client_support;

use berth_oci::Reference;
use std::sync::Arc;

use berth_registry::client::{LayoutDir, PullOptions, PushOptions, Recorder, TransferState};
use client_support::{DockerRegistry, blob_names, client, skopeo, skopeo_digest, unpack_fixture};

const BUSYBOX_MANIFEST: &str =
    "sha256:0875b712c86e55e73f06542f5e1d6c194599349400498b9b7b2226150595340d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_what_skopeo_pushed_with_identical_digests() {
    let registry = DockerRegistry::start();
    let image = format!("{}/fixtures/busybox:1.35", registry.host());
    client_support::skopeo_push_fixture("busybox.oci-archive.tar", &image);
    assert_eq!(skopeo_digest(&image), BUSYBOX_MANIFEST);
    let (fixture_dir, _) = unpack_fixture("busybox.oci-archive.tar");

    let out = client_support::temp_dir("pull");
    let layout = Arc::new(LayoutDir::create(out.path()).unwrap());
    let recorder = Arc::new(Recorder::default());
    let options = PullOptions {
        platform: None,
        progress: recorder.clone(),
    };
    let client = client(16 << 20);
    let reference = Reference::parse_normalized(&image).unwrap();
    let pulled = client
        .pull(&reference, layout.clone(), &options)
        .await
        .unwrap();
    assert_eq!(pulled.manifest.digest.to_string(), BUSYBOX_MANIFEST);
    assert_eq!((pulled.downloaded, pulled.already_present), (2, 0));
    assert_eq!(blob_names(out.path()), blob_names(fixture_dir.path()));
    for name in blob_names(out.path()) {
        let ours = client_support::read(&out.path().join("blobs/sha256").join(&name));
        let theirs = client_support::read(&fixture_dir.path().join("blobs/sha256").join(&name));
        assert!(ours == theirs, "blob {name} differs from the fixture");
    }
    let events = recorder.events();
    let layer = &pulled.layers[0].digest;
    let states: Vec<TransferState> = events
        .iter()
        .filter(|e| &e.digest == layer)
        .map(|e| e.state)
        .collect();
    assert_eq!(states.first(), Some(&TransferState::Waiting));
    assert!(states.contains(&TransferState::Downloading));
    assert!(states.contains(&TransferState::Verifying));
    assert_eq!(states.last(), Some(&TransferState::Done));

    // Again, by digest: everything is already there.
    let pinned = Reference::parse_normalized(&format!(
        "{}/fixtures/busybox@{BUSYBOX_MANIFEST}",
        registry.host()
    ))
    .unwrap();
    let again = client
        .pull(&pinned, layout.clone(), &PullOptions::default())
        .await
        .unwrap();
    assert_eq!((again.downloaded, again.already_present), (0, 2));

    // skopeo reads the layout we wrote.
    let index: serde_json::Value =
        serde_json::from_slice(&client_support::read(&out.path().join("index.json"))).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    let inspect = skopeo(&[
        "inspect",
        "--format",
        "{{.Digest}}",
        &format!("oci:{}:{}", out.path().display(), image),
    ]);
    assert_eq!(inspect.trim(), BUSYBOX_MANIFEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_chunked_then_mounts_and_skopeo_reads_it_back() {
    let registry = DockerRegistry::start();
    let (fixture_dir, layout) = unpack_fixture("busybox.oci-archive.tar");
    let roots = berth_registry::client::BlobSource::roots(layout.as_ref()).unwrap();
    let root = roots[0].0.clone();
    // 256 KiB chunks: the 1 MiB layer goes up in PATCHes, the config in one PUT.
    let client = client(256 << 10);

    let a = Reference::parse_normalized(&format!("{}/pushed/a:v1", registry.host())).unwrap();
    let report = client
        .push(layout.clone(), &root, &a, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(report.uploaded_chunked, 1);
    assert_eq!(report.uploaded_monolithic, 1);
    assert_eq!(report.manifests, 1);
    assert_eq!(skopeo_digest(&a.to_string()), root.digest.to_string());
    let patches = registry.log().matches("http.request.method=PATCH").count();
    assert!(
        patches >= 4,
        "expected ≥4 PATCH requests, log has {patches}"
    );

    // Same blobs into another repository: mounted from the first, no bytes sent.
    let b = Reference::parse_normalized(&format!("{}/pushed/b:v1", registry.host())).unwrap();
    let options = PushOptions {
        mount_from: Some("pushed/a".into()),
        ..PushOptions::default()
    };
    let report = client
        .push(layout.clone(), &root, &b, &options)
        .await
        .unwrap();
    assert_eq!(report.mounted, 2);
    assert_eq!(report.uploaded_chunked, 0);
    assert!(
        registry.log().contains("mount=sha256"),
        "no mount in registry log"
    );

    // A re-push finds everything present.
    let report = client
        .push(layout.clone(), &root, &a, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(report.already_present, 2);

    let back = client_support::temp_dir("skopeo-back");
    let dest = back.path().join("oci");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{b}"),
        &format!("oci:{}:v1", dest.display()),
    ]);
    assert_eq!(blob_names(&dest), blob_names(fixture_dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_layer_image_round_trips_through_our_push_and_pull() {
    let registry = DockerRegistry::start();
    let (fixture_dir, layout) = unpack_fixture("whiteouts.oci-archive.tar");
    let roots = berth_registry::client::BlobSource::roots(layout.as_ref()).unwrap();
    let root = roots[0].0.clone();
    // 64 KiB threshold: the bigger layers stream up in one PATCH each.
    let client = client_support::streaming_client(64 << 10);
    let target =
        Reference::parse_normalized(&format!("{}/w/whiteouts:1", registry.host())).unwrap();
    let report = client
        .push(layout, &root, &target, &PushOptions::default())
        .await
        .unwrap();
    assert!(report.uploaded_streamed >= 1, "{report:?}");
    assert_eq!(report.uploaded_chunked, 0);
    assert_eq!(skopeo_digest(&target.to_string()), root.digest.to_string());

    let out = client_support::temp_dir("pull-whiteouts");
    let sink = Arc::new(LayoutDir::create(out.path()).unwrap());
    let pulled = client
        .pull(&target, sink, &PullOptions::default())
        .await
        .unwrap();
    assert_eq!(pulled.manifest.digest, root.digest);
    assert!(pulled.layers.len() >= 4, "{} layers", pulled.layers.len());
    assert_eq!(blob_names(out.path()), blob_names(fixture_dir.path()));
}
