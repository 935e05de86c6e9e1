//! Chunked uploads fed hostile Content-Range headers and bodies: every one is refused with the
//! spec's code, the session keeps its bytes, and the upload still completes afterwards.

mod common;

use berth_oci::Digest;
use bytes::Bytes;
use common::{Client, TestServer};

async fn session(c: &Client, repo: &str) -> String {
    let r = c
        .send(
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 202);
    r.header("Location").expect("Location").to_owned()
}

async fn range_of(c: &Client, location: &str) -> String {
    let r = c.get(location).await;
    assert_eq!(r.status, 204);
    r.header("Range").expect("Range").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_content_ranges_are_refused_and_the_session_survives() {
    let server = TestServer::start().await;
    let c = server.client();
    let location = session(&c, "hostile").await;
    let data: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "0-999")],
            data[..1000].to_vec(),
        )
        .await;
    assert_eq!(r.status, 202);

    // Malformed, reversed and overflowing ranges: 416 BLOB_UPLOAD_INVALID.
    for bad in [
        "abc",
        "1000",
        "1000-",
        "-5",
        "1999-1000",
        "0-18446744073709551615",
        "x-y",
    ] {
        let r = c
            .send(
                "PATCH",
                &location,
                &[("Content-Range", bad)],
                data[1000..].to_vec(),
            )
            .await;
        assert_eq!(r.status, 416, "Content-Range {bad:?}");
        assert_eq!(r.error_code(), "BLOB_UPLOAD_INVALID", "{bad:?}");
    }
    // Overlapping a range already written (a replayed chunk) is out of order too; the reply
    // says where the upload really is.
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "0-999")],
            data[..1000].to_vec(),
        )
        .await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Range"), Some("0-999"));
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "500-1499")],
            data[500..1500].to_vec(),
        )
        .await;
    assert_eq!(r.status, 416);
    // A body shorter than the range it claims is refused and rolled back.
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "1000-1999")],
            data[1000..1010].to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "SIZE_INVALID");
    assert_eq!(range_of(&c, &location).await, "0-999");
    // Finishing with a range that does not start at the current offset is refused.
    let digest = Digest::sha256_of(&data);
    let r = c
        .send(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Range", "1001-2000")],
            data[1000..].to_vec(),
        )
        .await;
    assert_eq!(r.status, 416);
    // Finishing without a digest is refused; the session stays.
    let r = c
        .send(
            "PUT",
            &location,
            &[("Content-Range", "1000-1999")],
            data[1000..].to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DIGEST_INVALID");
    assert_eq!(range_of(&c, &location).await, "0-999");

    // After all that the upload completes with exactly the right bytes.
    let r = c
        .send(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Range", "1000-1999")],
            data[1000..].to_vec(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        c.get(&format!("/v2/hostile/blobs/{digest}")).await.body,
        data
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_beyond_the_blob_size_limit_are_refused() {
    let server = TestServer::with(|c| c.max_blob_bytes = 1500).await;
    let c = server.client();
    let location = session(&c, "limited").await;
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "0-999")],
            vec![1u8; 1000],
        )
        .await;
    assert_eq!(r.status, 202);
    // This chunk would take the blob to 2000 bytes.
    let r = c
        .send(
            "PATCH",
            &location,
            &[("Content-Range", "1000-1999")],
            vec![2u8; 1000],
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "SIZE_INVALID");
    assert_eq!(range_of(&c, &location).await, "0-999");
    // Without Content-Range, streamed: refused the same way.
    let r = c.send("PATCH", &location, &[], vec![3u8; 600]).await;
    assert_eq!(r.status, 413);
    assert_eq!(range_of(&c, &location).await, "0-999");
    let r = c.send("PATCH", &location, &[], vec![4u8; 500]).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("Range"), Some("0-1499"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_ids_with_path_tricks_are_unknown() {
    let server = TestServer::start().await;
    let c = server.client();
    let location = session(&c, "tricks").await;
    let uuid = location.rsplit('/').next().unwrap().to_owned();
    for id in [
        "..",
        "..%2F..%2Fblobs",
        &uuid.to_uppercase(),
        &format!("{uuid}x"),
        &format!("{uuid}%00"),
    ] {
        let r = c.get(&format!("/v2/tricks/blobs/uploads/{id}")).await;
        assert_eq!(r.status, 404, "{id}");
        assert_eq!(r.error_code(), "BLOB_UPLOAD_UNKNOWN", "{id}");
    }
}
