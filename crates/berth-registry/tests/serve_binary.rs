//! The `berth-registry serve` binary: configured from a JSON file (flags override it), and one
//! log line per request with method, path and status.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use common::{Client, temp_root};

/// Kills and reaps the server even when an assertion fails.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_from_a_config_file_logs_every_request() {
    let dir = temp_root();
    let root = dir.path().join("data");
    let config = dir.path().join("registry.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "addr": "127.0.0.1:1", // overridden by --addr below
            "root": root,
            "delete_enabled": false,
            "max_manifest_bytes": 2048,
        })
        .to_string(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-registry"))
        .args(["serve", "--addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("BERTH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth-registry serve");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut served = Served(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let c = Client { addr, auth: None };

    assert_eq!(c.get("/v2/").await.status, 200);
    let digest = c.push_blob("cfg/repo", b"configured").await;
    // The config file's settings are in force: deletion disabled, small manifest limit.
    let r = c
        .send(
            "DELETE",
            &format!("/v2/cfg/repo/blobs/{digest}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 405);
    let r = c
        .send(
            "PUT",
            "/v2/cfg/repo/manifests/big",
            &[("Content-Type", common::OCI_MANIFEST)],
            vec![b' '; 4096],
        )
        .await;
    assert_eq!(r.status, 413);
    // A blob download (the sendfile path) is logged too.
    assert_eq!(
        c.get(&format!("/v2/cfg/repo/blobs/{digest}")).await.body,
        b"configured"
    );
    assert!(root.join("blobs/sha256").join(digest.hex()).exists());

    let _ = served.0.kill();
    let _ = served.0.wait();
    let mut log = String::new();
    BufReader::new(stderr).read_to_string(&mut log).unwrap();
    let request_lines: Vec<&str> = log.lines().filter(|l| l.contains("request")).collect();
    for (method, path, status) in [
        ("GET", "/v2/".to_owned(), 200),
        ("POST", "/v2/cfg/repo/blobs/uploads/".to_owned(), 201),
        ("DELETE", format!("/v2/cfg/repo/blobs/{digest}"), 405),
        ("PUT", "/v2/cfg/repo/manifests/big".to_owned(), 413),
        ("GET", format!("/v2/cfg/repo/blobs/{digest}"), 200),
    ] {
        assert!(
            request_lines
                .iter()
                .any(|l| l.contains(&format!("method={method}"))
                    && l.contains(&format!("path=\"{path}\""))
                    && l.contains(&format!("status={status}"))),
            "no log line for {method} {path} {status} in:\n{log}"
        );
    }
}
