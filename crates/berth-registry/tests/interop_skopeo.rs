//! Interop with a client we did not write: skopeo pushes the shared fixtures to a real
//! `berth-registry serve` process and copies them back; digests must survive the round trip.
//! Fails (never skips) when skopeo is missing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use berth_oci::Digest;
use berth_testutil::fixture;

const SKOPEO: &str = "/usr/bin/skopeo";

/// A `berth-registry serve` child process, killed on drop.
struct Served {
    child: Child,
    addr: String,
    _root: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let root = common::temp_root();
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-registry"))
        .args(["serve", "--addr", "127.0.0.1:0", "--root"])
        .arg(root.path().join("data"))
        .args(extra)
        .env("BERTH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn berth-registry");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Served {
        child,
        addr,
        _root: root,
    }
}

fn skopeo(args: &[&str]) -> String {
    assert!(
        Path::new(SKOPEO).is_file(),
        "skopeo is required for the interop test ({SKOPEO} missing)"
    );
    let out = Command::new(SKOPEO)
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn raw_manifest_digest(image: &str, creds: Option<&str>) -> Digest {
    let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
    if let Some(c) = creds {
        args.extend_from_slice(&["--creds", c]);
    }
    args.push(image);
    let raw = skopeo(&args);
    Digest::sha256_of(raw.as_bytes())
}

fn oci_layout_manifest_digest(dir: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

/// Pushes the OCI fixture, pulls it back as an OCI layout, and checks the digests.
fn round_trip_oci(server: &Served, creds: Option<&str>, out: &Path) {
    let archive = format!(
        "oci-archive:{}",
        fixture("busybox.oci-archive.tar").display()
    );
    let source = raw_manifest_digest(&archive, None);
    let remote = format!("docker://{}/fixtures/busybox:1.35", server.addr);
    let mut push = vec!["copy", "--dest-tls-verify=false"];
    if let Some(c) = creds {
        push.extend_from_slice(&["--dest-creds", c]);
    }
    push.extend_from_slice(&[&archive, &remote]);
    skopeo(&push);
    assert_eq!(raw_manifest_digest(&remote, creds), source);

    let dest = format!("oci:{}:1.35", out.display());
    let mut pull = vec!["copy", "--src-tls-verify=false"];
    if let Some(c) = creds {
        pull.extend_from_slice(&["--src-creds", c]);
    }
    pull.extend_from_slice(&[&remote, &dest]);
    skopeo(&pull);
    assert_eq!(oci_layout_manifest_digest(out), source.to_string());
}

#[test]
fn skopeo_round_trips_oci_and_docker_archives() {
    let server = serve(&[]);
    let work = common::temp_root();
    round_trip_oci(&server, None, &work.path().join("oci"));

    // docker-archive: skopeo writes a Docker schema2 manifest; pulling to dir: keeps it as is.
    let archive = format!(
        "docker-archive:{}",
        fixture("busybox.docker-archive.tar").display()
    );
    let remote = format!("docker://{}/fixtures/busybox-docker:1.35", server.addr);
    skopeo(&["copy", "--dest-tls-verify=false", &archive, &remote]);
    let pushed = raw_manifest_digest(&remote, None);
    let dir: PathBuf = work.path().join("dir");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &remote,
        &format!("dir:{}", dir.display()),
    ]);
    let pulled = std::fs::read(dir.join("manifest.json")).unwrap();
    assert_eq!(Digest::sha256_of(&pulled), pushed);
    let manifest: serde_json::Value = serde_json::from_slice(&pulled).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    // Every layer skopeo fetched hashes to its descriptor's digest.
    for layer in manifest["layers"].as_array().unwrap() {
        let digest: Digest = layer["digest"].as_str().unwrap().parse().unwrap();
        let bytes = std::fs::read(dir.join(digest.hex())).unwrap();
        assert_eq!(Digest::sha256_of(&bytes), digest);
    }
    // Tags and catalog as skopeo sees them.
    let tags = skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{}/fixtures/busybox", server.addr),
    ]);
    assert!(tags.contains("1.35"), "{tags}");
}

fn htpasswd_file(dir: &Path) -> PathBuf {
    let path = dir.join("htpasswd");
    let hash = bcrypt::hash("interop-pw", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    std::fs::write(&path, format!("interop:{hash}\n")).unwrap();
    path
}

#[test]
fn skopeo_with_basic_auth() {
    let work = common::temp_root();
    let file = htpasswd_file(work.path());
    let server = serve(&["--auth", &format!("htpasswd:{}", file.display())]);
    // Without credentials the push is refused.
    let archive = format!(
        "oci-archive:{}",
        fixture("busybox.oci-archive.tar").display()
    );
    let remote = format!("docker://{}/fixtures/busybox:1.35", server.addr);
    let out = Command::new(SKOPEO)
        .args(["copy", "--dest-tls-verify=false", &archive, &remote])
        .output()
        .unwrap();
    assert!(!out.status.success(), "unauthenticated push must fail");
    round_trip_oci(
        &server,
        Some("interop:interop-pw"),
        &work.path().join("oci"),
    );
}

#[test]
fn skopeo_with_token_auth() {
    let work = common::temp_root();
    let file = htpasswd_file(work.path());
    let server = serve(&[
        "--auth",
        "token",
        "--htpasswd",
        file.to_str().unwrap(),
        "--token-issuer",
        "interop",
    ]);
    round_trip_oci(
        &server,
        Some("interop:interop-pw"),
        &work.path().join("oci"),
    );
}
