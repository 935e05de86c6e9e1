//! `ADD http://…` against an HTTP server of the test's own on loopback: the file lands with
//! mode 0600 and the server's Last-Modified, is never unpacked, `--checksum` is enforced, and
//! the cache follows the content.

mod engine_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use berth_build::engine::{BuildError, build};
use engine_support::Env;
use sha2::Digest as _;

/// Serves `files` (path → body) until the test ends; unknown paths get 404.
struct Server {
    port: u16,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = files.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = request.split(' ').nth(1).unwrap_or("/").to_string();
                let body = served.lock().unwrap().get(&path).cloned();
                let head = match &body {
                    Some(b) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\
                         Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: close\r\n\r\n",
                        b.len()
                    ),
                    None => {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_string()
                    }
                };
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_deref().unwrap_or_default());
            }
        });
        Server { port, files }
    }

    fn put(&self, path: &str, body: &[u8]) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_string(), body.to_vec());
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn tar_with_one_file() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "inside", &b"x\n"[..])
        .unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn add_url_downloads_with_docker_semantics_and_caches_by_content() {
    let env = Env::new();
    let server = Server::start();
    server.put("/files/tool.txt", b"tool v1\n");
    server.put("/files/bundle.tar", &tar_with_one_file());
    let dockerfile = format!(
        "FROM fixtures/busybox:1.35\n\
         ADD {} /opt/\n\
         ADD {} /opt/renamed.tar\n",
        server.url("/files/tool.txt"),
        server.url("/files/bundle.tar")
    );
    let opts = env.options(&dockerfile);
    let first = build(&env.store, &opts).unwrap();
    {
        let view = env.view(&first);
        assert_eq!(view.read("/opt/tool.txt"), "tool v1\n");
        let meta = std::fs::metadata(view.path("/opt/tool.txt")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600);
        assert_eq!(meta.mtime(), 1_700_000_000);
        // A tar from a URL stays a file.
        assert!(view.path("/opt/renamed.tar").is_file());
        assert!(!view.path("/opt/inside").exists());
    }
    let again = build(&env.store, &opts).unwrap();
    assert_eq!((again.steps_cached, again.image.id), (2, first.image.id));
    server.put("/files/tool.txt", b"tool v2\n");
    let changed = build(&env.store, &opts).unwrap();
    assert_eq!(changed.steps_cached, 0);
    let view = env.view(&changed);
    assert_eq!(view.read("/opt/tool.txt"), "tool v2\n");
    drop(view);
    env.assert_clean();
}

#[test]
fn add_url_checksum_and_http_errors_name_the_line() {
    let env = Env::new();
    let server = Server::start();
    let body = b"checked content\n";
    server.put("/c.txt", body);
    let digest: String = sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let good = format!(
        "FROM fixtures/busybox:1.35\nADD --checksum=sha256:{digest} --chmod=0644 {} /c.txt\n",
        server.url("/c.txt")
    );
    let result = build(&env.store, &env.options(&good)).unwrap();
    {
        let view = env.view(&result);
        assert_eq!(view.read("/c.txt"), "checked content\n");
        let meta = std::fs::metadata(view.path("/c.txt")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o644);
    }

    let wrong = format!(
        "FROM fixtures/busybox:1.35\n\nADD --checksum=sha256:{} {} /c.txt\n",
        "0".repeat(64),
        server.url("/c.txt")
    );
    let err = build(&env.store, &env.options(&wrong)).unwrap_err();
    assert!(
        matches!(err.cause(), BuildError::Fetch { line: 3, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("checksum mismatch") && text.contains(&digest),
        "{text}"
    );

    let missing = format!(
        "FROM fixtures/busybox:1.35\nADD {} /x\n",
        server.url("/nope")
    );
    let err = build(&env.store, &env.options(&missing)).unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");

    let local = "FROM fixtures/busybox:1.35\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 Dockerfile /d\n";
    let err = build(&env.store, &env.options(local)).unwrap_err();
    assert!(
        matches!(
            err.cause(),
            BuildError::BadFlag {
                line: 2,
                flag: "checksum",
                ..
            }
        ),
        "{err}"
    );
    env.assert_clean();
}
