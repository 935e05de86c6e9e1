//! `docker save` against berthd writes Docker 25's archive: a docker-archive (manifest.json,
//! repositories) and an OCI image layout (oci-layout, index.json, blobs/) at once. Tools no one
//! here wrote read it: skopeo (`oci-archive:`), umoci, the docker CLI; `berth save --format
//! oci-archive` leaves out the docker-archive files. Blobs are the store's, byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Daemon;

fn tool(program: &str, args: &[&str]) -> String {
    berth_testutil::require_program(program);
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn entries(archive: &Path) -> Vec<String> {
    tool("tar", &["tf", s(archive)])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn sha256_of(file: &Path) -> String {
    let out = tool("sha256sum", &[s(file)]);
    out.split_whitespace().next().unwrap_or_default().to_owned()
}

/// Every blob of the unpacked layout `dir` is named by its content's digest.
fn assert_blobs_match_names(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    let mut count = 0;
    for entry in std::fs::read_dir(&blobs).expect("blobs dir") {
        let path = entry.expect("blob entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert_eq!(sha256_of(&path), name, "{} was rewritten", path.display());
        count += 1;
    }
    assert!(count >= 3, "manifest, config and a layer expected: {count}");
}

fn berth_cli(d: &Daemon, args: &[&str]) {
    let berth = PathBuf::from(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth");
    assert!(
        berth.is_file(),
        "{} is missing: cargo build -p berth-cli",
        berth.display()
    );
    let out = Command::new(berth)
        .args(args)
        .env("BERTH_HOST", format!("unix://{}", d.socket().display()))
        .stdin(Stdio::null())
        .output()
        .expect("run berth");
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn docker_save_is_a_docker_archive_and_an_oci_layout_at_once() {
    let d = Daemon::start();
    let work = tempfile::Builder::new()
        .prefix(&format!("reg10-save-{}-", std::process::id()))
        .tempdir_in("/tmp")
        .expect("temp dir");
    let saved = work.path().join("busybox.tar");
    d.ok(&["save", "-o", s(&saved), "busybox:latest"]);
    let names = entries(&saved);
    for wanted in ["manifest.json", "repositories", "oci-layout", "index.json"] {
        assert!(names.iter().any(|n| n == wanted), "{wanted}: {names:?}");
    }

    // The OCI side: index.json names the image as Docker 25 does.
    let layout = work.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    tool("tar", &["xf", s(&saved), "-C", s(&layout)]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let descriptor = &index["manifests"][0];
    assert_eq!(
        descriptor["annotations"]["io.containerd.image.name"],
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        descriptor["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let manifest_digest = descriptor["digest"].as_str().unwrap().to_owned();
    assert_blobs_match_names(&layout);

    // skopeo reads it as an OCI archive, with the store's digests.
    let image_id = d.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"]);
    let diff_ids = d.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        "busybox",
    ]);
    let diff_ids: Vec<String> = serde_json::from_str(&diff_ids).unwrap();
    let inspect = tool(
        "skopeo",
        &["inspect", &format!("oci-archive:{}", s(&saved))],
    );
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspect["Digest"], manifest_digest.as_str());
    // The busybox fixture's layer is stored uncompressed: its digest is its diff ID.
    assert_eq!(inspect["Layers"], serde_json::json!(diff_ids));
    let copied = work.path().join("copied");
    tool(
        "skopeo",
        &[
            "copy",
            &format!("oci-archive:{}", s(&saved)),
            &format!("dir:{}", s(&copied)),
        ],
    );
    let config_hex = image_id.trim().trim_start_matches("sha256:").to_owned();
    assert_eq!(sha256_of(&copied.join(&config_hex)), config_hex);
    for diff_id in &diff_ids {
        let hex = diff_id.trim_start_matches("sha256:");
        assert_eq!(sha256_of(&copied.join(hex)), hex);
    }

    // umoci unpacks it by its ref name.
    let bundle = work.path().join("bundle");
    tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:latest", s(&layout)),
            s(&bundle),
        ],
    );
    assert!(bundle.join("rootfs/bin/busybox").is_file());

    // Our own load takes it back, and `docker save | docker load` works through berthd.
    d.ok(&["rmi", "busybox:latest"]);
    d.ok(&["load", "-i", s(&saved)]);
    assert_eq!(
        d.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"]),
        image_id
    );
    let piped = "docker save busybox:latest | docker load \
                 && docker image inspect --format '{{.Id}}' busybox";
    let out = Command::new("sh")
        .args(["-c", piped])
        .env("DOCKER_HOST", format!("unix://{}", d.socket().display()))
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Loaded image: busybox:latest"), "{text}");
    assert!(text.contains(image_id.trim()), "{text}");
}

#[test]
fn berth_save_format_oci_archive_is_an_oci_layout_only() {
    let d = Daemon::start();
    let work = tempfile::Builder::new()
        .prefix(&format!("reg10-oci-{}-", std::process::id()))
        .tempdir_in("/tmp")
        .expect("temp dir");
    let docker_archive = work.path().join("docker.tar");
    let oci_archive = work.path().join("oci.tar");
    berth_cli(&d, &["save", "-o", s(&docker_archive), "busybox"]);
    berth_cli(
        &d,
        &[
            "save",
            "--format",
            "oci-archive",
            "-o",
            s(&oci_archive),
            "busybox",
        ],
    );
    let docker_names = entries(&docker_archive);
    assert!(docker_names.iter().any(|n| n == "manifest.json"));
    let oci_names = entries(&oci_archive);
    assert!(
        !oci_names
            .iter()
            .any(|n| n == "manifest.json" || n == "repositories"),
        "{oci_names:?}"
    );
    // The same OCI layout, blobs and all.
    let expected: Vec<&String> = docker_names
        .iter()
        .filter(|n| *n != "manifest.json" && *n != "repositories")
        .collect();
    assert_eq!(oci_names.iter().collect::<Vec<_>>(), expected);
    let layout = work.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    tool("tar", &["xf", s(&oci_archive), "-C", s(&layout)]);
    assert_blobs_match_names(&layout);
    let inspect = tool(
        "skopeo",
        &["inspect", &format!("oci-archive:{}", s(&oci_archive))],
    );
    assert!(inspect.contains("\"Digest\": \"sha256:"), "{inspect}");

    // It loads back (an OCI archive, named by its annotation).
    let image_id = d.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"]);
    d.ok(&["rmi", "busybox:latest"]);
    let out = d.ok(&["load", "-i", s(&oci_archive)]);
    assert!(out.contains("busybox:latest"), "{out}");
    assert_eq!(
        d.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"]),
        image_id
    );

    // An unknown format is refused by the CLI.
    let berth = PathBuf::from(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth");
    let out = Command::new(berth)
        .args(["save", "--format", "tarball", "busybox"])
        .env("BERTH_HOST", format!("unix://{}", d.socket().display()))
        .output()
        .expect("run berth");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("oci-archive"));
}
