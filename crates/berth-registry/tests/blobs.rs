//! Blob endpoints: monolithic, POST+PUT, chunked uploads, status, cancel, mount, GET/HEAD with
//! ranges, delete, and hostile input.

mod common;

use berth_oci::Digest;
use bytes::Bytes;
use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_endpoint_answers_with_api_version() {
    let server = TestServer::start().await;
    let r = server.client().get("/v2/").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Docker-Distribution-API-Version"),
        Some("registry/2.0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monolithic_push_then_get_head_and_ranges() {
    let server = TestServer::start().await;
    let c = server.client();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let digest = c.push_blob("a/b", &data).await;
    let path = format!("/v2/a/b/blobs/{digest}");

    let r = c.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    assert_eq!(
        r.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    assert_eq!(r.header("Content-Length"), Some("100000"));

    let r = c.send("HEAD", &path, &[], Bytes::new()).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("Content-Length"), Some("100000"));
    assert_eq!(
        r.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );

    let r = c
        .send("GET", &path, &[("Range", "bytes=10-19")], Bytes::new())
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &data[10..20]);
    assert_eq!(r.header("Content-Range"), Some("bytes 10-19/100000"));

    let r = c
        .send("GET", &path, &[("Range", "bytes=-5")], Bytes::new())
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &data[99_995..]);

    let r = c
        .send("GET", &path, &[("Range", "bytes=99990-")], Bytes::new())
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &data[99_990..]);

    let r = c
        .send("GET", &path, &[("Range", "bytes=100000-")], Bytes::new())
        .await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Content-Range"), Some("bytes */100000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_blob_streams_through_and_back() {
    let server = TestServer::start().await;
    let c = server.client();
    // Bigger than the 1 MiB write/read chunks, not a multiple of them.
    let data: Vec<u8> = (0..(5 << 20) + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let digest = c.push_blob("big", &data).await;
    let r = c.get(&format!("/v2/big/blobs/{digest}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(Digest::sha256_of(&r.body), digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_then_put_with_body() {
    let server = TestServer::start().await;
    let c = server.client();
    let r = c
        .send("POST", "/v2/repo/blobs/uploads/", &[], Bytes::new())
        .await;
    assert_eq!(r.status, 202);
    let location = r.header("Location").expect("Location").to_owned();
    assert!(r.header("Docker-Upload-UUID").is_some());
    assert_eq!(r.header("Range"), Some("0-0"));
    let data = b"hello registry".to_vec();
    let digest = Digest::sha256_of(&data);
    let r = c
        .send(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            data.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.header("Location"),
        Some(format!("/v2/repo/blobs/{digest}").as_str())
    );
    assert_eq!(
        r.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    assert_eq!(c.get(&format!("/v2/repo/blobs/{digest}")).await.body, data);
    // The session is gone once completed.
    assert_eq!(c.get(&location).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upload_with_status_and_range_checks() {
    let server = TestServer::start().await;
    let c = server.client();
    let r = c
        .send("POST", "/v2/chunky/blobs/uploads/", &[], Bytes::new())
        .await;
    let location = r.header("Location").expect("Location").to_owned();
    let uuid = r.header("Docker-Upload-UUID").expect("uuid").to_owned();
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 256) as u8).collect();

    let r = c
        .send(
            "PATCH",
            &location,
            &[
                ("Content-Range", "0-999"),
                ("Content-Type", "application/octet-stream"),
            ],
            data[..1000].to_vec(),
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("Range"), Some("0-999"));
    assert_eq!(r.header("Docker-Upload-UUID"), Some(uuid.as_str()));

    // Out of order: starts at 2000 while the upload is at 1000.
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "2000-2999")],
            data[2000..].to_vec(),
        )
        .await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Range"), Some("0-999"));

    // Oversized: claims 10 bytes, sends 1000. Rejected and rolled back.
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "1000-1009")],
            data[1000..2000].to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "SIZE_INVALID");

    let r = c.get(&location).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("Range"), Some("0-999"));
    assert_eq!(r.header("Location"), Some(location.as_str()));
    assert_eq!(r.header("Docker-Upload-UUID"), Some(uuid.as_str()));

    // A streamed chunk without Content-Range appends.
    let r = c
        .send("PATCH", &location, &[], data[1000..2000].to_vec())
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("Range"), Some("0-1999"));

    let digest = Digest::sha256_of(&data);
    let r = c
        .send(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Range", "2000-2999")],
            data[2000..].to_vec(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        c.get(&format!("/v2/chunky/blobs/{digest}")).await.body,
        data
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_digest_is_rejected_and_never_visible() {
    let server = TestServer::start().await;
    let c = server.client();
    let claimed = Digest::sha256_of(b"something else");
    let r = c
        .send(
            "POST",
            &format!("/v2/r/blobs/uploads/?digest={claimed}"),
            &[],
            b"actual bytes".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DIGEST_INVALID");
    assert_eq!(c.get(&format!("/v2/r/blobs/{claimed}")).await.status, 404);
    let actual = Digest::sha256_of(b"actual bytes");
    assert_eq!(c.get(&format!("/v2/r/blobs/{actual}")).await.status, 404);
    assert!(
        !server
            .root
            .path()
            .join("data/blobs/sha256")
            .join(actual.hex())
            .exists()
    );

    // Chunked upload finished with a wrong digest.
    let r = c
        .send("POST", "/v2/r/blobs/uploads/", &[], Bytes::new())
        .await;
    let location = r.header("Location").expect("Location").to_owned();
    c.send("PATCH", &location, &[], b"abc".to_vec()).await;
    let r = c
        .send(
            "PUT",
            &format!("{location}?digest={claimed}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DIGEST_INVALID");

    // Malformed digests.
    for bad in ["sha256:xyz", "md5:abc", "sha256:..%2F..%2Fetc", "nocolon"] {
        let r = c
            .send(
                "POST",
                &format!("/v2/r/blobs/uploads/?digest={bad}"),
                &[],
                b"x".to_vec(),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error_code(), "DIGEST_INVALID", "{bad}");
    }
    let r = c.get("/v2/r/blobs/sha256:1234").await;
    assert_eq!(r.error_code(), "DIGEST_INVALID");
    // No temp or upload files left behind.
    assert_eq!(
        std::fs::read_dir(server.root.path().join("data/uploads"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_unknown_uploads() {
    let server = TestServer::start().await;
    let c = server.client();
    let r = c
        .send("POST", "/v2/r/blobs/uploads/", &[], Bytes::new())
        .await;
    let location = r.header("Location").expect("Location").to_owned();
    assert_eq!(
        c.send("DELETE", &location, &[], Bytes::new()).await.status,
        204
    );
    let r = c.get(&location).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "BLOB_UPLOAD_UNKNOWN");
    let r = c
        .send(
            "PATCH",
            "/v2/r/blobs/uploads/not-a-uuid",
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.error_code(), "BLOB_UPLOAD_UNKNOWN");
    // A session belongs to the repository it was started in.
    let r = c
        .send("POST", "/v2/r/blobs/uploads/", &[], Bytes::new())
        .await;
    let uuid = r.header("Docker-Upload-UUID").expect("uuid").to_owned();
    assert_eq!(
        c.get(&format!("/v2/other/blobs/uploads/{uuid}"))
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_repository_mount() {
    let server = TestServer::start().await;
    let c = server.client();
    let digest = c.push_blob("src/repo", b"shared layer").await;
    let r = c
        .send(
            "POST",
            &format!("/v2/dst/repo/blobs/uploads/?mount={digest}&from=src/repo"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    assert_eq!(
        c.get(&format!("/v2/dst/repo/blobs/{digest}")).await.body,
        b"shared layer"
    );

    // Unknown blob or repo: fall back to a normal upload session.
    let missing = Digest::sha256_of(b"nope");
    let r = c
        .send(
            "POST",
            &format!("/v2/dst/repo/blobs/uploads/?mount={missing}&from=src/repo"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(
        r.header("Location")
            .is_some_and(|l| l.starts_with("/v2/dst/repo/blobs/uploads/"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_repository_scoped_and_deletable() {
    let server = TestServer::start().await;
    let c = server.client();
    let digest = c.push_blob("one", b"private").await;
    let r = c.get(&format!("/v2/two/blobs/{digest}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "BLOB_UNKNOWN");
    assert_eq!(
        c.send(
            "DELETE",
            &format!("/v2/one/blobs/{digest}"),
            &[],
            Bytes::new()
        )
        .await
        .status,
        202
    );
    assert_eq!(c.get(&format!("/v2/one/blobs/{digest}")).await.status, 404);
    let r = c
        .send(
            "DELETE",
            &format!("/v2/one/blobs/{digest}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.error_code(), "BLOB_UNKNOWN");

    let server = TestServer::with(|c| c.delete_enabled = false).await;
    let c = server.client();
    let digest = c.push_blob("one", b"kept").await;
    let r = c
        .send(
            "DELETE",
            &format!("/v2/one/blobs/{digest}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error_code(), "UNSUPPORTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_rejected() {
    let server = TestServer::start().await;
    let c = server.client();
    let digest = Digest::sha256_of(b"x");
    for name in ["a/../b", "..", "a/./b", "A/b", "a//b", "a%2F..%2Fb", "-a"] {
        let r = c.get(&format!("/v2/{name}/blobs/{digest}")).await;
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.error_code(), "NAME_INVALID", "{name}");
        let r = c
            .send(
                "POST",
                &format!("/v2/{name}/blobs/uploads/?digest={digest}"),
                &[],
                b"x".to_vec(),
            )
            .await;
        assert_eq!(r.error_code(), "NAME_INVALID", "{name}");
    }
    let long = "a".repeat(256);
    assert_eq!(
        c.get(&format!("/v2/{long}/tags/list")).await.error_code(),
        "NAME_INVALID"
    );
    // Nothing escaped the root.
    assert!(!server.root.path().join("data/b").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_upload_sessions() {
    let server = TestServer::with(|c| c.max_upload_sessions = 2).await;
    let c = server.client();
    for _ in 0..2 {
        assert_eq!(
            c.send("POST", "/v2/r/blobs/uploads/", &[], Bytes::new())
                .await
                .status,
            202
        );
    }
    let r = c
        .send("POST", "/v2/r/blobs/uploads/", &[], Bytes::new())
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.error_code(), "TOOMANYREQUESTS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_size_limit() {
    let server = TestServer::with(|c| c.max_blob_bytes = 1000).await;
    let c = server.client();
    let data = vec![7u8; 2000];
    let r = c
        .send(
            "POST",
            &format!("/v2/r/blobs/uploads/?digest={}", Digest::sha256_of(&data)),
            &[],
            data,
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "SIZE_INVALID");
}

/// Plain-TCP blob downloads take the sendfile path; a keep-alive connection mixing them with
/// other requests must still be answered correctly, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connection_mixes_sendfile_and_hyper() {
    use http_body_util::{BodyExt, Empty};
    let server = TestServer::start().await;
    let c = server.client();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let digest = c.push_blob("ka", &big).await;
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let paths = [
        (format!("/v2/ka/blobs/{digest}"), None),
        (format!("/v2/ka/blobs/{digest}"), Some("bytes=100000-")),
        ("/v2/".to_owned(), None),
        (format!("/v2/ka/blobs/{digest}"), None),
        (
            format!("/v2/ka/blobs/{}", Digest::sha256_of(b"missing")),
            None,
        ),
    ];
    let mut statuses = Vec::new();
    for (path, range) in &paths {
        sender.ready().await.unwrap();
        let mut req = hyper::Request::get(path.as_str()).header("Host", server.addr.to_string());
        if let Some(r) = range {
            req = req.header("Range", *r);
        }
        let resp = sender
            .send_request(req.body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        match (status, range) {
            (200, None) if path.contains("blobs") => assert_eq!(&body[..], &big[..]),
            (206, Some(_)) => assert_eq!(&body[..], &big[100_000..]),
            _ => {}
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![200, 206, 200, 200, 404]);
}
