//! Multi-platform images: our client pushes an index (children by digest, then the index by
//! tag) to docker-registry, then pulls per platform; skopeo reads the index back.

mod client_support;

use berth_oci::Reference;
use std::sync::Arc;

use berth_oci::Digest;
use berth_registry::client::{
    BlobSink, BlobSource, ClientError, Descriptor, LayoutDir, Platform, PullOptions, PushOptions,
};
use client_support::{DockerRegistry, blob_names, client, skopeo, temp_dir, unpack_fixture};

fn with_platform(mut d: Descriptor, platform: &str) -> Descriptor {
    d.platform = Some(platform.parse().unwrap());
    d.annotations = None;
    d
}

/// One layout holding busybox (as linux/amd64) and whiteouts (as linux/arm64/v8) under an index.
fn multi_platform_layout() -> (
    tempfile::TempDir,
    Arc<LayoutDir>,
    Descriptor,
    Descriptor,
    Descriptor,
) {
    let dir = temp_dir("multi");
    let layout = Arc::new(LayoutDir::create(dir.path()).unwrap());
    let mut children = Vec::new();
    for (fixture, platform) in [
        ("busybox.oci-archive.tar", "linux/amd64"),
        ("whiteouts.oci-archive.tar", "linux/arm64/v8"),
    ] {
        let (src_dir, src) = unpack_fixture(fixture);
        for name in blob_names(src_dir.path()) {
            std::fs::copy(
                src_dir.path().join("blobs/sha256").join(&name),
                dir.path().join("blobs/sha256").join(&name),
            )
            .unwrap();
        }
        children.push(with_platform(src.roots().unwrap()[0].0.clone(), platform));
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children,
    }))
    .unwrap();
    let digest = Digest::sha256_of(&index);
    let mut w = layout.begin(&digest, index.len() as u64).unwrap();
    w.write(&index).unwrap();
    w.commit().unwrap();
    let root = Descriptor {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        digest,
        size: index.len() as u64,
        platform: None,
        annotations: None,
        urls: None,
    };
    layout.add_root(&root, "multi").unwrap();
    let (amd64, arm64) = (children[0].clone(), children[1].clone());
    (dir, layout, root, amd64, arm64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_index_and_pulls_each_platform() {
    let registry = DockerRegistry::start();
    let (dir, layout, root, amd64, arm64) = multi_platform_layout();
    let client = client(512 << 10);
    let target = Reference::parse_normalized(&format!("{}/multi/img:1", registry.host())).unwrap();
    let report = client
        .push(layout, &root, &target, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(report.manifests, 3);

    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{target}"),
    ]);
    assert_eq!(Digest::sha256_of(raw.trim_end().as_bytes()), root.digest);

    for (platform, want) in [("linux/amd64", &amd64), ("linux/arm64", &arm64)] {
        let out = temp_dir("pull-platform");
        let sink = Arc::new(LayoutDir::create(out.path()).unwrap());
        let options = PullOptions {
            platform: Some(platform.parse::<Platform>().unwrap()),
            ..PullOptions::default()
        };
        let pulled = client.pull(&target, sink, &options).await.unwrap();
        assert_eq!(pulled.manifest.digest, want.digest, "{platform}");
        assert_eq!(pulled.index_digest.as_ref(), Some(&root.digest));
    }

    let out = temp_dir("pull-none");
    let sink = Arc::new(LayoutDir::create(out.path()).unwrap());
    let options = PullOptions {
        platform: Some("linux/s390x".parse().unwrap()),
        ..PullOptions::default()
    };
    let err = client.pull(&target, sink, &options).await.unwrap_err();
    assert!(
        matches!(err, ClientError::NoMatchingPlatform { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("linux/amd64") && text.contains("linux/arm64/v8"),
        "{text}"
    );

    let back = temp_dir("skopeo-all");
    let dest = back.path().join("oci");
    skopeo(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        &format!("docker://{target}"),
        &format!("oci:{}:1", dest.display()),
    ]);
    assert_eq!(blob_names(&dest), blob_names(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_docker_schema2_manifests() {
    let registry = DockerRegistry::start();
    let image = format!("{}/fixtures/busybox-v2s2:1", registry.host());
    let src = format!(
        "oci-archive:{}",
        berth_testutil::fixture("busybox.oci-archive.tar").display()
    );
    skopeo(&[
        "copy",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{image}"),
    ]);
    let digest = client_support::skopeo_digest(&image);
    let out = temp_dir("pull-v2s2");
    let sink = Arc::new(LayoutDir::create(out.path()).unwrap());
    let pulled = client(1 << 20)
        .pull(
            &Reference::parse_normalized(&image).unwrap(),
            sink,
            &PullOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(pulled.manifest.digest.to_string(), digest);
    assert_eq!(
        pulled.manifest.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
}
