//! A source whose bytes do not match their digest is never committed to the registry, whether
//! the blob goes up in one PUT, a streamed PATCH or chunks.

mod client_support;

use berth_oci::Reference;
use berth_registry::client::{BlobSource, ClientError, PushOptions, Repository};
use client_support::{DockerRegistry, unpack_fixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_source_blob_is_refused_before_commit() {
    let registry = DockerRegistry::start();
    let (dir, layout) = unpack_fixture("busybox.oci-archive.tar");
    let root = layout.roots().unwrap()[0].0.clone();
    // Flip one byte of the (only, 1 MiB) layer.
    let layer = "a4da4e8e2469d30d3eae3ad90d09957efc5dbfe695df97ec881df510f2793b18";
    let path = dir.path().join("blobs/sha256").join(layer);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let clients = [
        ("monolithic", client_support::streaming_client(16 << 20)),
        ("streamed", client_support::streaming_client(64 << 10)),
        ("chunked", client_support::client(256 << 10)),
    ];
    for (mode, client) in clients {
        let target =
            Reference::parse_normalized(&format!("{}/corrupt/{mode}:1", registry.host())).unwrap();
        let err = client
            .push(layout.clone(), &root, &target, &PushOptions::default())
            .await
            .unwrap_err();
        match &err {
            ClientError::DigestMismatch { expected, .. } => {
                assert_eq!(expected.hex(), layer, "{mode}")
            }
            other => panic!("{mode}: want DigestMismatch, got {other}"),
        }
        let repo = Repository::new(&client, target.domain(), target.path(), false, &[]).unwrap();
        assert!(
            !repo
                .has_blob(&format!("sha256:{layer}").parse().unwrap())
                .await
                .unwrap(),
            "{mode}: the corrupt blob reached the registry"
        );
    }
    // Each failed upload session was cancelled.
    let log = registry.log();
    let cancelled = log
        .lines()
        .filter(|l| {
            l.contains("http.request.method=DELETE") && l.contains("http.response.status=204")
        })
        .count();
    assert_eq!(cancelled, 3, "{log}");
}
