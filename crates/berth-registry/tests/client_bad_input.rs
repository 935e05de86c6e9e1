//! Misbehaving registries: a raw-TCP fake on 127.0.0.1 serving wrong, truncated and error
//! responses, plus a bearer-token realm that counts how often a token is requested.

mod client_support;

use berth_oci::Reference;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_oci::Digest;
use berth_registry::client::{ClientError, LayoutDir, PullOptions};
use client_support::{blob_names, client, temp_dir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Handler = Arc<dyn Fn(&str, &str, &str) -> Vec<u8> + Send + Sync>;

/// Answers each connection once with whatever bytes the handler returns, then closes it.
struct FakeRegistry {
    host: String,
    task: tokio::task::JoinHandle<()>,
    /// Most `/slow/` blob requests ever in flight at once.
    max_in_flight: Arc<AtomicUsize>,
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fake(handler: Handler) -> FakeRegistry {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let max = max_in_flight.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let handler = handler.clone();
            let (in_flight, max) = (in_flight.clone(), max.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let mut first = text.lines().next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_owned();
                let target = first.next().unwrap_or("").to_owned();
                let reply = handler(&method, &target, &text);
                let slow = target.starts_with("/v2/slow/blobs/");
                if slow {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                }
                let _ = conn.write_all(&reply).await;
                if slow {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                }
                let _ = conn.shutdown().await;
            });
        }
    });
    FakeRegistry {
        host,
        task,
        max_in_flight,
    }
}

fn reply(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn error_json(code: &str, message: &str) -> Vec<u8> {
    format!(r#"{{"errors":[{{"code":"{code}","message":"{message}","detail":null}}]}}"#)
        .into_bytes()
}

/// A manifest with `n` distinct small layers (for the concurrency limit).
fn many_layers(n: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let layers: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("layer {i}").repeat(100).into_bytes())
        .collect();
    let config = image().config;
    let descs: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}"#,
                Digest::sha256_of(l),
                l.len()
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        Digest::sha256_of(&config),
        config.len(),
        descs.join(",")
    );
    (manifest.into_bytes(), layers)
}

struct Image {
    config: Vec<u8>,
    layer: Vec<u8>,
    manifest: Vec<u8>,
}

fn image() -> Image {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let layer = b"layer bytes that the registry should serve exactly. ".repeat(2000);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        Digest::sha256_of(&config),
        config.len(),
        Digest::sha256_of(&layer),
        layer.len()
    )
    .into_bytes();
    Image {
        config,
        layer,
        manifest,
    }
}

/// Serves `image()` under every repository, with per-repository misbehaviour.
/// The start offset of a `Range: bytes=N-` request.
fn ranged_from(head: &str) -> Option<usize> {
    let line = head.lines().find(|l| l.starts_with("range: bytes="))?;
    line["range: bytes=".len()..]
        .trim()
        .trim_end_matches('-')
        .parse()
        .ok()
}

fn handler(
    tokens: Arc<AtomicUsize>,
    ranged: Arc<AtomicUsize>,
    realm_host: Arc<std::sync::OnceLock<String>>,
) -> Handler {
    let img = image();
    let config_path = format!("blobs/{}", Digest::sha256_of(&img.config));
    let layer_path = format!("blobs/{}", Digest::sha256_of(&img.layer));
    let (slow_manifest, slow_layers) = many_layers(8);
    Arc::new(move |_method, target, head| {
        if target.starts_with("/token") {
            tokens.fetch_add(1, Ordering::SeqCst);
            return reply("200 OK", &[], br#"{"token":"good-token","expires_in":300}"#);
        }
        let Some(rest) = target.strip_prefix("/v2/") else {
            return reply("404 Not Found", &[], b"");
        };
        let (repo, what) = rest.split_once('/').unwrap_or((rest, ""));
        if repo == "tok" && !head.contains("authorization: bearer good-token") {
            let realm = realm_host.get().cloned().unwrap_or_default();
            let challenge = format!(
                r#"Bearer realm="http://{realm}/token",service="fake",scope="repository:tok:pull""#
            );
            return reply(
                "401 Unauthorized",
                &[("WWW-Authenticate", &challenge)],
                &error_json("UNAUTHORIZED", "authentication required"),
            );
        }
        match (repo, what) {
            ("missing", _) => reply(
                "404 Not Found",
                &[("Content-Type", "application/json")],
                &error_json("MANIFEST_UNKNOWN", "manifest unknown"),
            ),
            ("denied", _) => reply(
                "401 Unauthorized",
                &[],
                &error_json("UNAUTHORIZED", "authentication required"),
            ),
            ("broken", _) => reply(
                "500 Internal Server Error",
                &[],
                &error_json("UNKNOWN", "storage backend exploded"),
            ),
            ("slow", "manifests/v1") => reply(
                "200 OK",
                &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                &slow_manifest,
            ),
            ("slow", p) if p != config_path => {
                match slow_layers
                    .iter()
                    .find(|l| p == format!("blobs/{}", Digest::sha256_of(l)))
                {
                    Some(l) => reply("200 OK", &[], l),
                    None => reply("404 Not Found", &[], b""),
                }
            }
            ("weird", "manifests/v1") => reply(
                "200 OK",
                &[("Content-Type", "application/vnd.example.thing+json")],
                br#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}"#,
            ),
            (_, "manifests/v1") => reply(
                "200 OK",
                &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                &img.manifest,
            ),
            (_, p) if p == config_path => reply("200 OK", &[], &img.config),
            ("corrupt", p) if p == layer_path => {
                let mut wrong = img.layer.clone();
                wrong[100] ^= 0xff;
                reply("200 OK", &[], &wrong)
            }
            ("trunc", p) if p == layer_path => {
                let mut out = reply("200 OK", &[], &img.layer);
                out.truncate(out.len() - img.layer.len() / 2);
                out
            }
            ("flaky", p) if p == layer_path => match ranged_from(head) {
                // The first answer drops the connection halfway; the resume gets the rest.
                None => {
                    let mut out = reply("200 OK", &[], &img.layer);
                    out.truncate(out.len() - img.layer.len() / 2);
                    out
                }
                Some(from) => {
                    ranged.fetch_add(1, Ordering::SeqCst);
                    let total = img.layer.len();
                    let range = format!("bytes {from}-{}/{total}", total - 1);
                    reply(
                        "206 Partial Content",
                        &[("Content-Range", &range)],
                        &img.layer[from..],
                    )
                }
            },
            (_, p) if p == layer_path => reply("200 OK", &[], &img.layer),
            _ => reply(
                "404 Not Found",
                &[],
                &error_json("BLOB_UNKNOWN", "blob unknown"),
            ),
        }
    })
}

struct Fixture {
    server: FakeRegistry,
    tokens: Arc<AtomicUsize>,
    ranged: Arc<AtomicUsize>,
}

async fn start() -> Fixture {
    let tokens = Arc::new(AtomicUsize::new(0));
    let realm = Arc::new(std::sync::OnceLock::new());
    let ranged = Arc::new(AtomicUsize::new(0));
    let server = fake(handler(tokens.clone(), ranged.clone(), realm.clone())).await;
    realm.set(server.host.clone()).unwrap();
    Fixture {
        server,
        tokens,
        ranged,
    }
}

async fn pull(f: &Fixture, repo: &str, dir: &std::path::Path) -> Result<(), ClientError> {
    let reference = Reference::parse_normalized(&format!("{}/{repo}:v1", f.server.host)).unwrap();
    let sink = Arc::new(LayoutDir::create(dir).unwrap());
    client(1 << 20)
        .pull(&reference, sink, &PullOptions::default())
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_blob_content_is_rejected_and_nothing_is_kept() {
    let f = start().await;
    let dir = temp_dir("corrupt");
    let err = pull(&f, "corrupt", dir.path()).await.unwrap_err();
    let layer = Digest::sha256_of(&image().layer);
    match &err {
        ClientError::DigestMismatch { url, expected, .. } => {
            assert_eq!(expected, &layer);
            assert!(url.contains("/v2/corrupt/blobs/"), "{url}");
        }
        other => panic!("want DigestMismatch, got {other}"),
    }
    let names = blob_names(dir.path());
    assert!(!names.contains(&layer.hex().to_owned()), "{names:?}");
    assert!(
        names.iter().all(|n| !n.starts_with(".ingest")),
        "temp files left: {names:?}"
    );
    let index = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
    assert!(
        !index.contains("sha256"),
        "no root may be recorded: {index}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_body_is_a_clear_error() {
    let f = start().await;
    let dir = temp_dir("trunc");
    let err = pull(&f, "trunc", dir.path()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ClientError::Truncated { received, expected, .. } if received < expected),
        "{text}"
    );
    assert!(text.contains("body ended after"), "{text}");
    let layer = Digest::sha256_of(&image().layer);
    assert!(!blob_names(dir.path()).contains(&layer.hex().to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_name_url_status_and_registry_errors() {
    let f = start().await;
    let dir = temp_dir("errors");
    let cases = [
        ("missing", "404", "MANIFEST_UNKNOWN: manifest unknown"),
        ("denied", "401", "UNAUTHORIZED: authentication required"),
        ("broken", "500", "UNKNOWN: storage backend exploded"),
    ];
    for (repo, status, message) in cases {
        let text = pull(&f, repo, dir.path()).await.unwrap_err().to_string();
        let url = format!("GET http://{}/v2/{repo}/manifests/v1", f.server.host);
        assert!(text.contains(&url), "{text}");
        assert!(text.contains(status), "{text}");
        assert!(text.contains(message), "{text}");
    }
    let text = pull(&f, "weird", dir.path()).await.unwrap_err().to_string();
    assert!(
        text.contains("unsupported manifest media type \"application/vnd.example.thing+json\""),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_fetched_once_and_reused_per_scope() {
    let f = start().await;
    let dir = temp_dir("tok");
    pull(&f, "tok", dir.path()).await.unwrap();
    // Manifest, config and layer requests share one token for repository:tok:pull.
    assert_eq!(f.tokens.load(Ordering::SeqCst), 1);
    let layer = Digest::sha256_of(&image().layer);
    assert!(blob_names(dir.path()).contains(&layer.hex().to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_resumes_with_range() {
    let f = start().await;
    let dir = temp_dir("flaky");
    pull(&f, "flaky", dir.path()).await.unwrap();
    assert_eq!(f.ranged.load(Ordering::SeqCst), 1);
    let layer = image().layer;
    let stored = client_support::read(
        &dir.path()
            .join("blobs/sha256")
            .join(Digest::sha256_of(&layer).hex()),
    );
    assert!(stored == layer, "resumed blob differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_download_in_parallel_up_to_the_limit() {
    let f = start().await;
    let dir = temp_dir("slow");
    // The default limit is 4; 9 blobs (config + 8 layers), each answered after 150 ms.
    let started = std::time::Instant::now();
    pull(&f, "slow", dir.path()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(f.server.max_in_flight.load(Ordering::SeqCst), 4);
    assert!(
        elapsed < std::time::Duration::from_millis(9 * 150),
        "took {elapsed:?}: not parallel"
    );
    assert_eq!(
        blob_names(dir.path()).len(),
        10,
        "config, 8 layers, manifest"
    );
}
