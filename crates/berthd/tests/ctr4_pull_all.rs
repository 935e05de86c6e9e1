//! `pull -a` (every tag of a repository) from Debian's docker-registry, with the docker CLI
//! and with `berth`.

mod common;
mod ctr4_registry;

use common::Daemon;
use ctr4_registry::DockerRegistry;

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tags(d: &Daemon, repo: &str) -> Vec<String> {
    let mut tags: Vec<String> = d
        .ok(&["images", "--format", "{{.Tag}}", repo])
        .lines()
        .map(str::to_owned)
        .collect();
    tags.sort();
    tags
}

#[test]
fn pull_all_tags_fetches_every_tag_of_the_repository() {
    let d = Daemon::start();
    let registry = DockerRegistry::start();
    let repo = format!("{}/ctr4/bb", registry.addr);
    for tag in ["one", "two", "three"] {
        let name = format!("{repo}:{tag}");
        d.ok(&["tag", "busybox", &name]);
        d.ok(&["push", &name]);
        d.ok(&["rmi", &name]);
    }
    assert!(tags(&d, &repo).is_empty());

    let out = d.ok(&["pull", "-a", &repo]);
    for tag in ["one", "two", "three"] {
        assert!(
            out.contains(&format!("{tag}: Pulling from ctr4/bb")),
            "{out}"
        );
    }
    assert_eq!(out.matches("Digest: sha256:").count(), 3, "{out}");
    assert_eq!(out.matches("Status: ").count(), 1, "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {repo}\n")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some(repo.as_str()), "{out}");
    assert_eq!(tags(&d, &repo), ["one", "three", "two"]);
    let busybox = d.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Id}}", &format!("{repo}:two")]),
        busybox
    );

    let again = d.ok(&["pull", "-a", &repo]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {repo}\n")),
        "{again}"
    );

    // The berth CLI sends the same request and prints as docker does.
    d.ok(&["rmi", &format!("{repo}:one")]);
    let ours = d.berth(&["pull", "-a", &repo]);
    assert!(ours.status.success(), "{}", text(&ours));
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(ours.contains("one: Pulling from ctr4/bb"), "{ours}");
    assert!(
        ours.contains(&format!("Status: Downloaded newer image for {repo}")),
        "{ours}"
    );
    assert_eq!(ours.lines().last(), Some(repo.as_str()), "{ours}");
    assert_eq!(tags(&d, &repo), ["one", "three", "two"]);

    // A tag with -a is refused by the CLI; an unknown repository by the daemon.
    let tagged = d.berth(&["pull", "-a", &format!("{repo}:one")]);
    assert!(!tagged.status.success());
    assert!(
        text(&tagged).contains("tag can't be used with --all-tags/-a"),
        "{}",
        text(&tagged)
    );
    let missing = d.docker(&["pull", "-a", &format!("{}/ctr4/none", registry.addr)]);
    assert!(!missing.status.success());
    let err = text(&missing);
    assert!(
        err.contains("NAME_UNKNOWN") || err.contains("name unknown") || err.contains("not found"),
        "{err}"
    );
    // Nothing half-pulled under that name.
    assert!(tags(&d, &format!("{}/ctr4/none", registry.addr)).is_empty());
}

/// Runs `curl` (loopback only) and returns what it printed.
fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new(berth_testutil::require_program("curl"))
        .args(args)
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pull_platform_chooses_the_manifest_from_an_index() {
    let d = Daemon::start();
    let registry = DockerRegistry::start();
    let fixture = berth_testutil::fixture("whiteouts.docker-archive.tar");
    d.ok(&["load", "-i", fixture.to_str().unwrap()]);
    let repo = format!("{}/ctr4/multi", registry.addr);
    let accept = "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    let mut entries = Vec::new();
    for (image, tag, arch) in [
        ("busybox", "amd", "amd64"),
        ("fixtures/whiteouts:1", "arm", "arm64"),
    ] {
        let name = format!("{repo}:{tag}");
        d.ok(&["tag", image, &name]);
        d.ok(&["push", &name]);
        let url = format!("http://{}/v2/ctr4/multi/manifests/{tag}", registry.addr);
        let body = curl(&["-sf", "-H", accept, &url]);
        let media_type = curl(&[
            "-sf",
            "-o",
            "/dev/null",
            "-w",
            "%{content_type}",
            "-H",
            accept,
            &url,
        ]);
        let digest = format!("sha256:{}", sha256_hex(body.as_bytes()));
        entries.push(serde_json::json!({
            "mediaType": media_type,
            "digest": digest,
            "size": body.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    });
    curl(&[
        "-sf",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.index.v1+json",
        "--data-binary",
        &index.to_string(),
        &format!("http://{}/v2/ctr4/multi/manifests/multi", registry.addr),
    ]);
    let id = |name: &str| d.ok(&["image", "inspect", "-f", "{{.Id}}", name]);
    let (busybox, whiteouts) = (id("busybox"), id("fixtures/whiteouts:1"));
    let multi = format!("{repo}:multi");

    let out = d.berth(&["pull", "--platform", "linux/arm64", &multi]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(id(&multi), whiteouts);
    d.ok(&["rmi", &multi]);
    d.ok(&["pull", "--platform", "linux/amd64", &multi]);
    assert_eq!(id(&multi), busybox);
    let out = d.berth(&["pull", "--platform", "linux/s390x", &multi]);
    assert!(!out.status.success());
    assert!(text(&out).contains("s390x"), "{}", text(&out));
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

#[test]
fn push_default_tag_all_tags_and_quiet_as_the_docker_cli() {
    let d = Daemon::start();
    let registry = DockerRegistry::start();
    let repo = format!("{}/ctr4/p", registry.addr);
    for tag in ["latest", "a", "b"] {
        d.ok(&["tag", "busybox", &format!("{repo}:{tag}")]);
    }
    let registry_tags = || {
        let list = curl(&[
            "-sf",
            &format!("http://{}/v2/ctr4/p/tags/list", registry.addr),
        ]);
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        let mut tags: Vec<String> = list["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        tags.sort();
        tags
    };

    let out = d.berth(&["push", &repo]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.starts_with("Using default tag: latest\n"), "{shown}");
    assert!(shown.contains("latest: digest: sha256:"), "{shown}");
    assert_eq!(registry_tags(), ["latest"]);
    let theirs = d.ok(&["push", &repo]);
    assert!(
        theirs.starts_with("Using default tag: latest\n"),
        "{theirs}"
    );

    let out = d.berth(&["push", "-a", &repo]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(registry_tags(), ["a", "b", "latest"]);

    let out = d.berth(&["push", "-q", &format!("{repo}:a")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{repo}:a\n"));
    let out = d.berth(&["push", "-a", &format!("{repo}:a")]);
    assert!(text(&out).contains("tag can't be used with --all-tags/-a"));

    d.ok(&["rmi", &repo]);
    let out = d.berth(&["pull", &repo]);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.starts_with("Using default tag: latest\n"), "{shown}");
    assert_eq!(
        shown.lines().last(),
        Some(format!("{repo}:latest").as_str())
    );
}
