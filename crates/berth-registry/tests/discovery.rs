//! Content discovery: tags list and catalog pagination, referrers with artifactType filter.

mod common;

use berth_oci::Digest;
use common::{OCI_INDEX, OCI_MANIFEST, TestServer, image_manifest, push_image};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_list_paginates_with_link_header() {
    let server = TestServer::start().await;
    let c = server.client();
    let (_, body) = push_image(&c, "p/q", "a", "seed").await;
    for tag in ["d", "b", "c", "e"] {
        assert_eq!(
            c.put_manifest("p/q", tag, OCI_MANIFEST, &body).await.status,
            201
        );
    }
    let r = c.get("/v2/p/q/tags/list").await;
    assert_eq!(
        r.json(),
        serde_json::json!({"name": "p/q", "tags": ["a", "b", "c", "d", "e"]})
    );
    assert!(r.header("Link").is_none());

    let r = c.get("/v2/p/q/tags/list?n=2").await;
    assert_eq!(r.json()["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(
        r.header("Link"),
        Some("</v2/p/q/tags/list?n=2&last=b>; rel=\"next\"")
    );
    let r = c.get("/v2/p/q/tags/list?n=2&last=b").await;
    assert_eq!(r.json()["tags"], serde_json::json!(["c", "d"]));
    let r = c.get("/v2/p/q/tags/list?n=2&last=d").await;
    assert_eq!(r.json()["tags"], serde_json::json!(["e"]));
    assert!(r.header("Link").is_none());
    let r = c.get("/v2/p/q/tags/list?n=0").await;
    assert_eq!(r.json()["tags"], serde_json::json!([]));
    assert_eq!(c.get("/v2/p/q/tags/list?n=abc").await.status, 400);

    let r = c.get("/v2/unknown/tags/list").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "NAME_UNKNOWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_paginates() {
    let server = TestServer::start().await;
    let c = server.client();
    for repo in ["zeta", "alpha/one", "alpha/two", "mid"] {
        push_image(&c, repo, "latest", repo).await;
    }
    let r = c.get("/v2/_catalog").await;
    assert_eq!(
        r.json(),
        serde_json::json!({"repositories": ["alpha/one", "alpha/two", "mid", "zeta"]})
    );
    let r = c.get("/v2/_catalog?n=3").await;
    assert_eq!(
        r.json()["repositories"],
        serde_json::json!(["alpha/one", "alpha/two", "mid"])
    );
    assert_eq!(
        r.header("Link"),
        Some("</v2/_catalog?n=3&last=mid>; rel=\"next\"")
    );
    let r = c.get("/v2/_catalog?n=3&last=mid").await;
    assert_eq!(r.json()["repositories"], serde_json::json!(["zeta"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_lists_manifests_by_subject() {
    let server = TestServer::start().await;
    let c = server.client();
    let (subject, subject_body) = push_image(&c, "ref", "base", "s").await;
    let empty = c.push_blob("ref", b"{}").await;
    let mut pushed = Vec::new();
    for (i, artifact) in [
        "application/vnd.example.sbom",
        "application/vnd.example.sig",
        "application/vnd.example.sig",
    ]
    .iter()
    .enumerate()
    {
        let mut m: serde_json::Value = serde_json::from_slice(&image_manifest(
            (&empty, 2),
            &[],
            Some((&subject, subject_body.len())),
            Some(artifact),
        ))
        .unwrap();
        m["annotations"] = serde_json::json!({"n": i.to_string()});
        let body = serde_json::to_vec(&m).unwrap();
        let d = Digest::sha256_of(&body);
        assert_eq!(
            c.put_manifest("ref", &d.to_string(), OCI_MANIFEST, &body)
                .await
                .status,
            201
        );
        pushed.push((d, body.len(), *artifact));
    }
    // An unrelated manifest is not a referrer.
    push_image(&c, "ref", "other", "o").await;

    let r = c.get(&format!("/v2/ref/referrers/{subject}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some(OCI_INDEX));
    assert!(r.header("OCI-Filters-Applied").is_none());
    let index = r.json();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 3);
    for (d, size, artifact) in &pushed {
        let m = manifests
            .iter()
            .find(|m| m["digest"] == d.to_string())
            .expect("referrer listed");
        assert_eq!(m["size"], *size);
        assert_eq!(m["artifactType"], *artifact);
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert!(m["annotations"]["n"].is_string());
    }

    let r = c
        .get(&format!(
            "/v2/ref/referrers/{subject}?artifactType=application/vnd.example.sig"
        ))
        .await;
    assert_eq!(r.header("OCI-Filters-Applied"), Some("artifactType"));
    assert_eq!(r.json()["manifests"].as_array().unwrap().len(), 2);

    // No referrers: an empty index, not an error.
    let r = c
        .get(&format!("/v2/ref/referrers/{}", Digest::sha256_of(b"none")))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["manifests"], serde_json::json!([]));
    assert_eq!(
        c.get("/v2/ref/referrers/sha256:bad").await.error_code(),
        "DIGEST_INVALID"
    );

    // Deleting a referrer removes it from the list.
    let (d, _, _) = &pushed[0];
    assert_eq!(
        c.send(
            "DELETE",
            &format!("/v2/ref/manifests/{d}"),
            &[],
            bytes::Bytes::new()
        )
        .await
        .status,
        202
    );
    let r = c.get(&format!("/v2/ref/referrers/{subject}")).await;
    assert_eq!(r.json()["manifests"].as_array().unwrap().len(), 2);
}
