//! `docker build` (the classic builder API) against berthd: RUN steps on the default bridge
//! network (a real `apt-get install` through NAT), `RUN --network` and `docker build
//! --network`, then `docker run` of the result.

mod common;

use common::Daemon;
use common::registry::Registry;

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

/// The `berth` CLI beside berthd, against this daemon.
fn berth(d: &Daemon, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth");
    let mut child = std::process::Command::new(binary)
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", d.socket().display()))
        // These tests read the classic builder's step lines (berth's default is BuildKit-style
        // progress on stderr), as `DOCKER_BUILDKIT=0 docker build` prints them.
        .env("DOCKER_BUILDKIT", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run berth");
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn berth_ok(d: &Daemon, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = berth(d, args, stdin);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}\n{text}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    text
}

#[test]
fn labels_iidfile_outside_dockerfiles_outputs_and_prune() {
    let d = Daemon::start();
    let ctx = context(&d, "opts", &[("a.txt", "a\n"), ("keep/k.txt", "k\n")]);
    let outside = d.dir.path().join("Dockerfile.outside");
    let dockerfile = "FROM busybox\n\
                      RUN --mount=type=cache,target=/cache echo c > /cache/c && echo built > /marker\n\
                      COPY . /ctx/\n";
    std::fs::write(&outside, dockerfile).unwrap();
    let outside = outside.to_string_lossy().into_owned();

    // docker: a Dockerfile outside the context (sent under a generated name), --label, --iidfile.
    let iid = d.dir.path().join("docker.iid");
    let iid_arg = iid.to_string_lossy().into_owned();
    build(
        &d,
        &[
            "-f",
            &outside,
            "--label",
            "org.b7=yes",
            "--iidfile",
            &iid_arg,
            &ctx,
        ],
    );
    let id = std::fs::read_to_string(&iid).unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    let labels = d.ok(&["inspect", "-f", "{{json .Config.Labels}}", &id]);
    assert_eq!(labels, r#"{"org.b7":"yes"}"#);
    let files = d.ok(&["run", "--rm", &id, "sh", "-c", "ls -A /ctx; cat /marker"]);
    assert_eq!(
        files, "a.txt\nkeep\nbuilt",
        "the generated Dockerfile stays out of COPY"
    );

    // berth: -f - with -o type=local, then -o type=tar, and a lone Dockerfile on stdin.
    let out_dir = d.dir.path().join("out");
    let local = format!("type=local,dest={}", out_dir.display());
    let iid = d.dir.path().join("berth.iid");
    berth_ok(
        &d,
        &[
            "build",
            "-f",
            "-",
            "--iidfile",
            &iid.to_string_lossy(),
            "-o",
            &local,
            &ctx,
        ],
        Some(dockerfile.as_bytes()),
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("marker")).unwrap(),
        "built\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("ctx/keep/k.txt")).unwrap(),
        "k\n"
    );
    assert!(out_dir.join("bin/busybox").is_file());
    let mut names: Vec<_> = std::fs::read_dir(out_dir.join("ctx"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt", "keep"]);
    assert!(
        std::fs::read_to_string(&iid)
            .unwrap()
            .starts_with("sha256:")
    );

    let tar_path = d.dir.path().join("rootfs.tar");
    let tar_out = format!("type=tar,dest={}", tar_path.display());
    berth_ok(
        &d,
        &["build", "-q", "-f", &outside, "-o", &tar_out, &ctx],
        None,
    );
    let mut archive = tar::Archive::new(std::fs::File::open(&tar_path).unwrap());
    let entries: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(entries.iter().any(|e| e == "marker"), "{entries:?}");
    // The export container is gone again.
    assert_eq!(d.ok(&["ps", "-aq"]), "");

    let out = berth_ok(
        &d,
        &["build", "-"],
        Some(b"FROM busybox\nRUN echo from-stdin\n"),
    );
    assert!(out.contains("from-stdin"), "{out}");

    // Prune: the cache mount and the RUN records go; a rebuild runs the RUN again.
    let young = berth_ok(
        &d,
        &["builder", "prune", "-af", "--filter", "until=1h"],
        None,
    );
    assert_eq!(young.trim(), "Total reclaimed space: 0B");
    let pruned = d.ok(&["builder", "prune", "-af"]);
    assert!(pruned.contains("Deleted build cache objects:"), "{pruned}");
    assert!(!pruned.contains("Total reclaimed space: 0B"), "{pruned}");
    let again = build(&d, &["-f", &outside, &ctx]);
    assert!(!again.contains("Using cache"), "{again}");
}

#[test]
fn base_images_are_pulled_when_missing_and_with_pull() {
    let d = Daemon::start();
    let registry = Registry::start(d.dir.path(), &[]);
    let base = format!("{}/b7/base:1", registry.addr);
    d.ok(&["tag", "busybox", &base]);
    d.ok(&["push", &base]);
    d.ok(&["rmi", &base]);
    let ctx = context(
        &d,
        "pull",
        &[(
            "Dockerfile",
            &format!("FROM {base}\nRUN cat /v 2>/dev/null || echo no-v\n"),
        )],
    );
    // Missing locally: pulled by the build.
    let out = build(&d, &[&ctx]);
    assert!(out.contains("Downloaded newer image"), "{out}");
    assert!(out.contains("no-v"), "{out}");

    // A newer base in the registry; the local tag stays on the old one.
    let v2 = context(
        &d,
        "v2",
        &[("Dockerfile", "FROM busybox\nRUN echo v2 > /v\n")],
    );
    build(&d, &["-t", &base, &v2]);
    d.ok(&["push", &base]);
    d.ok(&["tag", "busybox", &base]);
    let out = build(&d, &[&ctx]);
    assert!(
        out.contains("no-v"),
        "without --pull the local base is used: {out}"
    );
    let out = build(&d, &["--pull", &ctx]);
    assert!(
        out.contains("\nv2\n"),
        "--pull fetches the newer base: {out}"
    );

    // A base no registry has: the error names the Dockerfile line.
    let missing = context(
        &d,
        "missing",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nFROM {}/b7/none:1\n", registry.addr),
        )],
    );
    let mut cmd = d.docker_cmd(&["build", &missing]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Dockerfile:2: pulling the base image"),
        "{text}"
    );
}

#[test]
fn no_cache_filter_reruns_only_the_named_stage() {
    let d = Daemon::start();
    let ctx = context(
        &d,
        "ncf",
        &[(
            "Dockerfile",
            "FROM busybox AS gen\n\
             RUN echo gen > /g\n\
             FROM busybox\n\
             COPY --from=gen /g /g\n\
             RUN echo final > /f\n",
        )],
    );
    berth_ok(&d, &["build", "-t", "ncf", &ctx], None);
    let cached = berth_ok(&d, &["build", "-t", "ncf", &ctx], None);
    assert_eq!(cached.matches("Using cache").count(), 3, "{cached}");
    // Progress in file order, dependency stage first, as Docker's.
    let order: Vec<&str> = cached.lines().filter(|l| l.starts_with("Step ")).collect();
    assert!(
        order[0].starts_with("Step 1/5 : FROM busybox AS gen"),
        "{cached}"
    );
    assert!(
        order[4].starts_with("Step 5/5 : RUN echo final"),
        "{cached}"
    );
    // The `gen` stage's RUN runs again (and what reads its new layer with it).
    let again = berth_ok(
        &d,
        &["build", "--no-cache-filter", "gen", "-t", "ncf", &ctx],
        None,
    );
    let run_gen = again
        .split("Step ")
        .find(|step| step.starts_with("2/5 : RUN echo gen"))
        .unwrap_or_else(|| panic!("no gen step in:\n{again}"));
    assert!(!run_gen.contains("Using cache"), "{again}");
    // A bad filter on the API is a 400 that names the parameter.
    let mut s = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "POST /v1.41/build?nocachefilter=%5Bgen HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\
         Content-Type: application/x-tar\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid nocachefilter"), "{answer}");
}

#[test]
fn compression_zstd_makes_zstd_layers_that_run() {
    const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    let d = Daemon::start();
    let ctx = context(
        &d,
        "zstd",
        &[
            ("Dockerfile", "FROM busybox\nCOPY hello.txt /hello.txt\n"),
            ("hello.txt", "from a zstd layer\n"),
        ],
    );
    let zstd_blobs = || {
        std::fs::read_dir(d.data_root().join("store/blobs/sha256"))
            .unwrap()
            .flatten()
            .filter(|e| {
                let mut head = [0u8; 4];
                std::fs::File::open(e.path())
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                    .is_ok()
                    && head == ZSTD_MAGIC
            })
            .count()
    };
    berth_ok(&d, &["build", "-t", "gz", &ctx], None);
    assert_eq!(zstd_blobs(), 0);
    berth_ok(
        &d,
        &["build", "--compression", "zstd", "-t", "zst", &ctx],
        None,
    );
    assert_eq!(zstd_blobs(), 1);
    let out = berth_ok(&d, &["run", "--rm", "zst", "cat", "/hello.txt"], None);
    assert_eq!(out, "from a zstd layer\n");
    let refused = berth(&d, &["build", "--compression", "lz4", &ctx], None);
    assert!(!refused.status.success());
}
