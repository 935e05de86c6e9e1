//! Manifest endpoints: push/pull by tag and digest, Accept negotiation, validation of
//! references, size limits, subject header, deletion by tag and by digest.

mod common;

use berth_oci::Digest;
use bytes::Bytes;
use common::{OCI_INDEX, OCI_MANIFEST, TestServer, image_manifest, push_image};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_by_tag_and_digest() {
    let server = TestServer::start().await;
    let c = server.client();
    let (digest, body) = push_image(&c, "img", "v1", "a").await;
    for reference in ["v1".to_owned(), digest.to_string()] {
        let r = c
            .send(
                "GET",
                &format!("/v2/img/manifests/{reference}"),
                &[("Accept", OCI_MANIFEST)],
                Bytes::new(),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, body);
        assert_eq!(r.header("Content-Type"), Some(OCI_MANIFEST));
        assert_eq!(
            r.header("Docker-Content-Digest"),
            Some(digest.to_string().as_str())
        );
        let r = c
            .send(
                "HEAD",
                &format!("/v2/img/manifests/{reference}"),
                &[],
                Bytes::new(),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.body.is_empty());
        assert_eq!(
            r.header("Content-Length"),
            Some(body.len().to_string().as_str())
        );
    }
    // The PUT reply names the manifest by digest.
    let r = c.put_manifest("img", "v2", OCI_MANIFEST, &body).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("Location"),
        Some(format!("/v2/img/manifests/{digest}").as_str())
    );
    assert_eq!(
        r.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    // PUT by digest must match the body.
    let r = c
        .put_manifest("img", &digest.to_string(), OCI_MANIFEST, &body)
        .await;
    assert_eq!(r.status, 201);
    let wrong = Digest::sha256_of(b"other");
    let r = c
        .put_manifest("img", &wrong.to_string(), OCI_MANIFEST, &body)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DIGEST_INVALID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_negotiation_and_docker_media_types() {
    let server = TestServer::start().await;
    let c = server.client();
    let config = br#"{"architecture":"amd64"}"#;
    let cd = c.push_blob("d", config).await;
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [],
    }))
    .unwrap();
    assert_eq!(
        c.put_manifest("d", "latest", DOCKER_MANIFEST, &body)
            .await
            .status,
        201
    );
    let r = c
        .send(
            "GET",
            "/v2/d/manifests/latest",
            &[("Accept", DOCKER_MANIFEST)],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some(DOCKER_MANIFEST));
    let r = c
        .send(
            "GET",
            "/v2/d/manifests/latest",
            &[("Accept", OCI_MANIFEST)],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "MANIFEST_UNKNOWN");
    let r = c
        .send(
            "GET",
            "/v2/d/manifests/latest",
            &[("Accept", "*/*")],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 200);

    // An index over the manifest: children must exist in the repository.
    let md = Digest::sha256_of(&body);
    let index = |child: &Digest| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": child.to_string(), "size": body.len(),
                           "platform": {"architecture": "amd64", "os": "linux"}}],
        }))
        .unwrap()
    };
    let r = c.put_manifest("d", "multi", OCI_INDEX, &index(&md)).await;
    assert_eq!(r.status, 201);
    let r = c
        .send(
            "GET",
            "/v2/d/manifests/multi",
            &[("Accept", OCI_INDEX)],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.header("Content-Type"), Some(OCI_INDEX));
    let r = c
        .put_manifest(
            "d",
            "broken",
            OCI_INDEX,
            &index(&Digest::sha256_of(b"missing")),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_referencing_missing_or_wrong_blobs_are_rejected() {
    let server = TestServer::start().await;
    let c = server.client();
    let config = b"{}";
    let cd = c.push_blob("m", config).await;
    let missing = Digest::sha256_of(b"never pushed");
    let body = image_manifest((&cd, config.len()), &[(&missing, 12)], None, None);
    let r = c.put_manifest("m", "t", OCI_MANIFEST, &body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        r.json()["errors"][0]["detail"]["digest"],
        missing.to_string()
    );

    // A blob in another repository does not count.
    let elsewhere = c.push_blob("other", b"layer").await;
    let body = image_manifest((&cd, config.len()), &[(&elsewhere, 5)], None, None);
    assert_eq!(
        c.put_manifest("m", "t", OCI_MANIFEST, &body)
            .await
            .error_code(),
        "MANIFEST_BLOB_UNKNOWN"
    );

    // Declared size must match.
    let body = image_manifest((&cd, 999), &[], None, None);
    assert_eq!(
        c.put_manifest("m", "t", OCI_MANIFEST, &body)
            .await
            .error_code(),
        "MANIFEST_INVALID"
    );

    for (bad, ct) in [
        (b"not json".to_vec(), OCI_MANIFEST),
        (br#"{"schemaVersion":1}"#.to_vec(), OCI_MANIFEST),
        (br#"{"schemaVersion":2,"mediaType":"text/plain"}"#.to_vec(), "text/plain"),
        (br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#.to_vec(), OCI_MANIFEST),
        (image_manifest((&cd, config.len()), &[], None, None), OCI_INDEX),
    ] {
        let r = c.put_manifest("m", "t", ct, &bad).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&bad));
        assert_eq!(r.error_code(), "MANIFEST_INVALID");
    }
    assert_eq!(
        c.put_manifest("m", "bad/tag", OCI_MANIFEST, b"{}")
            .await
            .status,
        404,
        "a slash is not a tag route"
    );
    assert_eq!(
        c.put_manifest("m", ".bad", OCI_MANIFEST, b"{}")
            .await
            .error_code(),
        "MANIFEST_INVALID"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_manifests_get_413() {
    let server = TestServer::start().await;
    let c = server.client();
    let config = b"{}";
    let cd = c.push_blob("h", config).await;
    let mut m: serde_json::Value =
        serde_json::from_slice(&image_manifest((&cd, 2), &[], None, None)).unwrap();
    m["annotations"] = serde_json::json!({"pad": "x".repeat(4 << 20)});
    let body = serde_json::to_vec(&m).unwrap();
    let r = c.put_manifest("h", "big", OCI_MANIFEST, &body).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "SIZE_INVALID");
    // Just under the limit is fine.
    m["annotations"] = serde_json::json!({"pad": "x".repeat((4 << 20) - 1000)});
    let body = serde_json::to_vec(&m).unwrap();
    assert!(body.len() < 4 << 20);
    assert_eq!(
        c.put_manifest("h", "big", OCI_MANIFEST, &body).await.status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_header_and_unknown_manifests() {
    let server = TestServer::start().await;
    let c = server.client();
    let (subject, body) = push_image(&c, "s", "base", "x").await;
    let empty = c.push_blob("s", b"{}").await;
    let referrer = image_manifest(
        (&empty, 2),
        &[],
        Some((&subject, body.len())),
        Some("application/vnd.example.sig"),
    );
    let r = c
        .put_manifest(
            "s",
            &Digest::sha256_of(&referrer).to_string(),
            OCI_MANIFEST,
            &referrer,
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("OCI-Subject"), Some(subject.to_string().as_str()));

    let r = c.get("/v2/s/manifests/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "MANIFEST_UNKNOWN");
    let r = c.get("/v2/nosuchrepo/manifests/latest").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "NAME_UNKNOWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_by_tag_and_by_digest() {
    let server = TestServer::start().await;
    let c = server.client();
    let (digest, body) = push_image(&c, "del", "one", "d").await;
    assert_eq!(
        c.put_manifest("del", "two", OCI_MANIFEST, &body)
            .await
            .status,
        201
    );

    assert_eq!(
        c.send("DELETE", "/v2/del/manifests/one", &[], Bytes::new())
            .await
            .status,
        202
    );
    assert_eq!(c.get("/v2/del/manifests/one").await.status, 404);
    assert_eq!(c.get("/v2/del/manifests/two").await.status, 200);
    assert_eq!(
        c.send("DELETE", "/v2/del/manifests/one", &[], Bytes::new())
            .await
            .error_code(),
        "MANIFEST_UNKNOWN"
    );

    let path = format!("/v2/del/manifests/{digest}");
    assert_eq!(c.send("DELETE", &path, &[], Bytes::new()).await.status, 202);
    assert_eq!(c.get(&path).await.status, 404);
    assert_eq!(
        c.get("/v2/del/manifests/two").await.status,
        404,
        "tags of a deleted manifest go with it"
    );
    let tags = c.get("/v2/del/tags/list").await.json();
    assert_eq!(tags["tags"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_methods_get_405() {
    let server = TestServer::start().await;
    let c = server.client();
    let r = c
        .send("PATCH", "/v2/x/manifests/latest", &[], Bytes::new())
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error_code(), "UNSUPPORTED");
}
