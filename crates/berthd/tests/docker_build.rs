//! `docker build` (the classic builder API) against berthd: RUN steps on the default bridge
//! network (a real `apt-get install` through NAT), `RUN --network` and `docker build
//! --network`, then `docker run` of the result.

mod common;

use common::Daemon;

/// A context directory inside the daemon's temp dir, with `files` written into it.
fn context(d: &Daemon, name: &str, files: &[(&str, &str)]) -> String {
    let dir = d.dir.path().join(name);
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir.to_string_lossy().into_owned()
}

fn build(d: &Daemon, args: &[&str]) -> String {
    let mut cmd = d.docker_cmd(&[&["build"], args].concat());
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().expect("run docker build");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "docker build {args:?} failed: {}\n{text}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    text
}

fn load_debian(d: &Daemon) {
    let archive = berth_testutil::fixture("debian-bookworm.oci-archive.tar");
    let loaded = d.ok(&["load", "-i", &archive.to_string_lossy()]);
    assert!(loaded.contains("fixtures/debian:bookworm"), "{loaded}");
}

/// Nothing of a RUN step's network is left: no namespace, no sandbox record.
fn assert_no_step_networks(d: &Daemon) {
    let left = |dir: std::path::PathBuf| -> Vec<String> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(left(d.exec_root().join("netns")), Vec::<String>::new());
    assert_eq!(
        left(d.exec_root().join("network/containers")),
        Vec::<String>::new()
    );
}

#[test]
fn apt_get_install_through_the_bridge_then_run_the_app() {
    let d = Daemon::start();
    load_debian(&d);
    let ctx = context(
        &d,
        "pyapp",
        &[
            (
                "Dockerfile",
                "FROM fixtures/debian:bookworm\n\
                 RUN apt-get update && apt-get install -y --no-install-recommends python3 \\\n\
                 \x20   && rm -rf /var/lib/apt/lists/*\n\
                 COPY app.py /app/app.py\n\
                 CMD [\"python3\", \"/app/app.py\"]\n",
            ),
            (
                "app.py",
                "import sys\nprint('hello from python', sys.version_info.major)\n",
            ),
        ],
    );
    let out = build(&d, &["-t", "pyapp", &ctx]);
    assert!(out.contains("Setting up python3 "), "{out}");
    assert!(out.contains("Successfully tagged pyapp:latest"), "{out}");
    assert_eq!(d.ok(&["run", "--rm", "pyapp"]), "hello from python 3");
    assert_no_step_networks(&d);
    // resolv.conf and hosts were bind-mounted for the step, never written into a layer.
    let saved = d.dir.path().join("pyapp.tar");
    d.ok(&["save", "-o", &saved.to_string_lossy(), "pyapp"]);
    let built = built_layer_entries(&std::fs::read(&saved).unwrap());
    assert!(built.iter().any(|n| n == "usr/bin/python3"), "{built:?}");
    for stub in ["etc/resolv.conf", "etc/hosts"] {
        assert!(!built.iter().any(|n| n == stub), "{stub} in a layer");
    }
}

/// Entry names of every layer above the base image's one, from a `docker save` archive (an
/// OCI layout: index.json → manifest → layer blobs).
fn built_layer_entries(saved: &[u8]) -> Vec<String> {
    use std::io::Read;
    let mut files = std::collections::HashMap::new();
    let mut archive = tar::Archive::new(saved);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        files.insert(name, data);
    }
    let blob = |digest: &serde_json::Value| {
        let digest = digest.as_str().unwrap().replace(':', "/");
        &files[&format!("blobs/{digest}")]
    };
    let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(blob(&index["manifests"][0]["digest"])).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    let mut names = Vec::new();
    for layer in &layers[1..] {
        let blob = blob(&layer["digest"]);
        let (_, reader) = berth_store::layer::decompressed(&blob[..]).unwrap();
        let mut tar = tar::Archive::new(reader);
        for entry in tar.entries().unwrap() {
            let entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            names.push(name.trim_end_matches('/').to_string());
        }
    }
    names
}

#[test]
fn run_network_flags_and_build_network_mode() {
    let d = Daemon::start();
    load_debian(&d);
    let ctx = context(
        &d,
        "nets",
        &[(
            "Dockerfile",
            "FROM fixtures/debian:bookworm\n\
             RUN echo \"default: $(grep -c : /proc/net/dev) $(hostname)\"\n\
             RUN --network=none echo \"none: $(grep -c : /proc/net/dev)\"\n\
             RUN --network=host echo \"host: $(readlink /proc/self/ns/net)\"\n",
        )],
    );
    // Interfaces on the host come and go (other tests); its namespace stays.
    let host_netns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let host_netns = host_netns.to_string_lossy();
    let out = build(&d, &["--no-cache", &ctx]);
    // The bridge: loopback and eth0; none: loopback only; host: the host's interfaces.
    assert!(out.contains("default: 2 buildkitsandbox\n"), "{out}");
    assert!(out.contains("none: 1\n"), "{out}");
    assert!(out.contains(&format!("host: {host_netns}\n")), "{out}");

    let out = build(&d, &["--no-cache", "--network", "none", &ctx]);
    assert!(out.contains("default: 1 buildkitsandbox\n"), "{out}");
    assert!(out.contains(&format!("host: {host_netns}\n")), "{out}");

    // A RUN step that fails leaves no network state behind either.
    let bad = context(
        &d,
        "bad",
        &[("Dockerfile", "FROM fixtures/debian:bookworm\nRUN exit 7\n")],
    );
    let mut cmd = d.docker_cmd(&["build", &bad]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Dockerfile:2: RUN") && text.contains("exit code 7"),
        "{text}"
    );
    assert_no_step_networks(&d);
}
