//! The image API driven by the real docker CLI (and raw HTTP for protocol details) against a
//! private berthd. Expected values are what Docker 20.10 reports for the same archives.

mod images_harness;

use images_harness::{Daemon, Registry, shared_image};

const BUSYBOX_ID: &str = "sha256:1c65e37fc5a33f2ff99731692b92b0f64028bb6d166b08f73e95f63c2f78e3d8";
const BUSYBOX_LAYER: &str =
    "sha256:f6f3591d4f2bb8877a60ecf040bd8ebc01cd8c720eb66148554c31ad369a8999";
const WHITEOUTS_ID: &str =
    "sha256:72cbd3540f86b4bb6f6377b958119dedf64d32a8b089eadf10003d1d69f0bc67";

fn load(daemon: &Daemon, archive: &str) -> String {
    daemon.docker_ok(&["load", "-i", shared_image(archive).to_str().unwrap()])
}

#[test]
fn load_list_inspect_history_match_docker() {
    let daemon = Daemon::start();
    assert_eq!(
        load(&daemon, "busybox.docker-archive.tar"),
        "Loaded image: fixtures/busybox:1.35\n"
    );
    load(&daemon, "whiteouts.docker-archive.tar");
    let rows = daemon.docker_ok(&[
        "images",
        "--format",
        "{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Size}}",
    ]);
    assert_eq!(
        rows,
        "fixtures/whiteouts|1|72cbd3540f86|1.98MB\nfixtures/busybox|1.35|1c65e37fc5a3|1.98MB\n"
    );
    let inspect = daemon.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}} {{.Size}} {{.Os}} {{.Architecture}} {{.Comment}} {{.RootFS.Layers}}",
        "fixtures/busybox:1.35",
    ]);
    assert_eq!(
        inspect.trim(),
        format!("{BUSYBOX_ID} 1984172 linux amd64 Imported from - [{BUSYBOX_LAYER}]")
    );
    let history = daemon.docker_ok(&[
        "history",
        "--format",
        "{{.ID}} {{.Size}}",
        "fixtures/whiteouts:1",
    ]);
    assert_eq!(
        history,
        "72cbd3540f86 0B\n<missing> 0B\n<missing> 0B\n<missing> 4B\n<missing> 7B\n<missing> 10B\n<missing> 1.98MB\n"
    );
    let env = daemon.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Config.Env}} {{.Config.WorkingDir}}",
        WHITEOUTS_ID,
    ]);
    assert!(
        env.contains("GREETING=hello") && env.trim().ends_with("/d"),
        "{env}"
    );

    // The API's own JSON: 1.41 fields, filters.
    let list = daemon.request("GET", "/v1.41/images/json", &[], &[]).json();
    let busybox = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Id"] == BUSYBOX_ID)
        .expect("busybox listed");
    assert_eq!(busybox["Size"], 1984172);
    assert_eq!(busybox["VirtualSize"], 1984172);
    assert_eq!(busybox["SharedSize"], -1);
    assert_eq!(busybox["Containers"], -1);
    assert_eq!(busybox["RepoTags"][0], "fixtures/busybox:1.35");
    let filtered = daemon.docker_ok(&["images", "-q", "--filter", "reference=fixtures/busy*"]);
    assert_eq!(filtered, "1c65e37fc5a3\n");
    let since = daemon.docker_ok(&["images", "-q", "--filter", "since=fixtures/busybox:1.35"]);
    assert_eq!(since, "72cbd3540f86\n");
    let bad = daemon.request(
        "GET",
        "/images/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
        &[],
        &[],
    );
    assert_eq!(bad.status, 400, "{}", bad.text());

    // system df: both images share busybox's layer.
    let df = daemon.request("GET", "/v1.41/system/df", &[], &[]).json();
    assert_eq!(df["LayersSize"], 1984193);
    let whiteouts = df["Images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Id"] == WHITEOUTS_ID)
        .expect("whiteouts in df");
    assert_eq!(whiteouts["Containers"], 0);
    assert_eq!(whiteouts["SharedSize"], 1984172);
    let table = daemon.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Size}}",
    ]);
    assert!(table.starts_with("Images 2 1.984MB"), "{table}");

    // State survives a daemon restart.
    let mut daemon = daemon;
    daemon.restart();
    assert_eq!(daemon.docker_ok(&["images", "-q"]).lines().count(), 2);
}

#[test]
fn tag_and_rmi_follow_dockers_rules() {
    let mut daemon = Daemon::start();
    load(&daemon, "busybox.docker-archive.tar");
    daemon.docker_ok(&["tag", "fixtures/busybox:1.35", "localhost:5000/a/b:t"]);
    // A name with a registry port and slashes reaches the daemon as several path segments.
    let id = daemon.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "localhost:5000/a/b:t"]);
    assert_eq!(id.trim(), BUSYBOX_ID);
    assert_eq!(
        daemon.docker_ok(&["rmi", "localhost:5000/a/b:t"]),
        "Untagged: localhost:5000/a/b:t\n"
    );
    let err = daemon.docker_err(&["tag", "fixtures/busybox:1.35", "x/y:BAD TAG"]);
    assert!(err.contains("invalid"), "{err}");
    let resp = daemon.request(
        "POST",
        "/images/fixtures/busybox:1.35/tag?repo=BAD&tag=x",
        &[],
        &[],
    );
    assert_eq!(resp.status, 400);
    assert!(
        resp.json()["message"]
            .as_str()
            .unwrap()
            .contains("invalid reference format")
    );

    // A container record using the image (stopped).
    let container_id = format!("{:064x}", std::process::id() as u128 * 7919);
    write_container(&daemon, &container_id, BUSYBOX_ID, false);
    daemon.restart();
    let err = daemon.docker_err(&["rmi", "fixtures/busybox:1.35"]);
    assert!(
        err.contains(&format!(
            "conflict: unable to remove repository reference \"fixtures/busybox:1.35\" (must force) - container {} is using its referenced image 1c65e37fc5a3",
            &container_id[..12]
        )),
        "{err}"
    );
    let resp = daemon.request("DELETE", "/images/1c65e37fc5a3", &[], &[]);
    assert_eq!(resp.status, 409);
    assert!(
        resp.text()
            .contains("(must be forced) - image is being used by stopped container")
    );

    // Running: cannot be forced.
    write_container(&daemon, &container_id, BUSYBOX_ID, true);
    daemon.restart();
    let resp = daemon.request("DELETE", "/images/1c65e37fc5a3?force=1", &[], &[]);
    assert_eq!(resp.status, 409);
    assert!(
        resp.text()
            .contains("(cannot be forced) - image is being used by running container")
    );

    // Stopped and forced: deleted.
    write_container(&daemon, &container_id, BUSYBOX_ID, false);
    daemon.restart();
    let out = daemon.docker_ok(&["rmi", "-f", "1c65e37fc5a3"]);
    assert!(out.contains("Untagged: fixtures/busybox:1.35"), "{out}");
    assert!(out.contains(&format!("Deleted: {BUSYBOX_ID}")), "{out}");
    assert_eq!(daemon.docker_ok(&["images", "-q"]), "");

    // Without containers: by ID with several repositories needs force.
    std::fs::remove_dir_all(daemon.data_root().join("containers").join(&container_id)).unwrap();
    daemon.restart();
    load(&daemon, "busybox.docker-archive.tar");
    daemon.docker_ok(&["tag", BUSYBOX_ID, "other/repo:1"]);
    let err = daemon.docker_err(&["rmi", "1c65e37fc5a3"]);
    assert!(
        err.contains("must be forced") && err.contains("multiple repositories"),
        "{err}"
    );
    let out = daemon.docker_ok(&["rmi", "other/repo:1", "fixtures/busybox:1.35"]);
    assert_eq!(
        out.lines().take(3).collect::<Vec<_>>(),
        [
            "Untagged: other/repo:1",
            "Untagged: fixtures/busybox:1.35",
            &format!("Deleted: {BUSYBOX_ID}")
        ]
    );
    // The layer went with it.
    assert!(out.contains(&format!("Deleted: {BUSYBOX_LAYER}")), "{out}");
    let err = daemon.docker_err(&["rmi", "nope"]);
    assert!(err.contains("No such image: nope:latest"), "{err}");
}

fn write_container(daemon: &Daemon, id: &str, image: &str, running: bool) {
    use berth_engine::containers::{ContainerRecord, State, Status};
    let dir = daemon.data_root().join("containers").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let record = ContainerRecord {
        id: id.to_owned(),
        name: format!("images-test-{}", std::process::id()),
        created: "2026-01-01T00:00:00Z".to_owned(),
        image: image.to_owned(),
        image_name: "fixtures/busybox:1.35".to_owned(),
        path: "sh".to_owned(),
        args: Vec::new(),
        config: Default::default(),
        host_config: Default::default(),
        state: State {
            status: if running {
                Status::Running
            } else {
                Status::Exited
            },
            ..State::default()
        },
        restart_count: 0,
    };
    record.save(&dir).unwrap();
}

#[test]
fn save_load_round_trip_and_multi_image_save() {
    let daemon = Daemon::start();
    load(&daemon, "busybox.docker-archive.tar");
    load(&daemon, "whiteouts.docker-archive.tar");
    let archive = daemon.dir.path().join("saved.tar");
    daemon.docker_ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "fixtures/whiteouts:1",
    ]);
    daemon.docker_ok(&["rmi", "fixtures/whiteouts:1"]);
    assert_eq!(
        daemon.docker_ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: fixtures/whiteouts:1\n"
    );
    let id = daemon.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "fixtures/whiteouts:1"]);
    assert_eq!(id.trim(), WHITEOUTS_ID);

    // Both images in one archive, through the API's repeated `names`.
    let resp = daemon.request(
        "GET",
        "/images/get?names=fixtures%2Fbusybox%3A1.35&names=fixtures%2Fwhiteouts%3A1",
        &[],
        &[],
    );
    assert_eq!(resp.status, 200);
    let both = daemon.dir.path().join("both.tar");
    std::fs::write(&both, &resp.body).unwrap();
    let listing = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(&both)
        .arg("manifest.json")
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    assert_eq!(manifest.as_array().unwrap().len(), 2, "{manifest}");
    daemon.docker_ok(&["rmi", "fixtures/busybox:1.35", "fixtures/whiteouts:1"]);
    assert_eq!(daemon.docker_ok(&["images", "-q"]), "");
    let loaded = daemon.docker_ok(&["load", "-i", both.to_str().unwrap()]);
    assert!(
        loaded.contains("Loaded image: fixtures/busybox:1.35"),
        "{loaded}"
    );
    assert!(
        loaded.contains("Loaded image: fixtures/whiteouts:1"),
        "{loaded}"
    );

    let resp = daemon.request("GET", "/images/nope/get", &[], &[]);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json()["message"], "No such image: nope:latest");
}

#[test]
fn import_and_prune() {
    let daemon = Daemon::start();
    let rootfs = daemon.dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/hello"), "imported\n").unwrap();
    let tar = daemon.dir.path().join("rootfs.tar");
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&rootfs)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let id = daemon.docker_ok(&[
        "import",
        "--change",
        r#"CMD ["/bin/hello", "world"]"#,
        "--change",
        "ENV GREETING=hi",
        "--change",
        "WORKDIR /etc",
        "--message",
        "from the test",
        tar.to_str().unwrap(),
        "imported:1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let inspect = daemon.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}} {{.Size}} {{len .RootFS.Layers}} {{.Config.Cmd}} {{.Config.Env}} {{.Config.WorkingDir}} {{.Comment}}",
        "imported:1",
    ]);
    assert_eq!(
        inspect.trim(),
        format!(
            "{} 9 1 [/bin/hello world] [GREETING=hi] /etc from the test",
            id.trim()
        )
    );
    let err = daemon.docker_err(&["import", "--change", "RUN true", tar.to_str().unwrap()]);
    assert!(err.contains("RUN is not allowed"), "{err}");
    assert_eq!(daemon.docker_ok(&["images", "-q"]).lines().count(), 1);

    // Loading the OCI busybox (same tag, another ID) leaves the docker-archive one dangling.
    load(&daemon, "busybox.docker-archive.tar");
    load(&daemon, "busybox.oci-archive.tar");
    let dangling = daemon.docker_ok(&["images", "-q", "--filter", "dangling=true"]);
    assert_eq!(dangling, "1c65e37fc5a3\n");
    let out = daemon.docker_ok(&["image", "prune", "-f"]);
    assert!(out.contains(&format!("deleted: {BUSYBOX_ID}")), "{out}");
    assert_eq!(daemon.docker_ok(&["images", "-q"]).lines().count(), 2);
    let resp = daemon.request(
        "POST",
        "/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D",
        &[],
        &[],
    );
    assert_eq!(resp.status, 200);
    assert!(resp.json()["ImagesDeleted"].as_array().unwrap().len() >= 2);
    assert_eq!(daemon.docker_ok(&["images", "-q"]), "");
    // Nothing is left in the content store once every image is gone.
    assert_eq!(daemon.blob_names(), Vec::<String>::new());
}

#[test]
fn bad_input_is_refused_cleanly() {
    let daemon = Daemon::start();
    let resp = daemon.request("GET", "/v1.41/images/nope/json", &[], &[]);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json()["message"], "No such image: nope:latest");
    let resp = daemon.request("GET", "/images/sha256:abc/history", &[], &[]);
    assert_eq!(resp.status, 404);
    let resp = daemon.request("POST", "/images/create?fromImage=BAD", &[], &[]);
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains("invalid reference format"),
        "{}",
        resp.text()
    );
    let resp = daemon.request("POST", "/images/create", &[], &[]);
    assert_eq!(resp.status, 400);

    // Garbage and a truncated archive: a clear 400, and nothing left behind.
    let resp = daemon.request(
        "POST",
        "/images/load",
        &[],
        b"this is not a tar archive at all",
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
    let archive = std::fs::read(shared_image("busybox.docker-archive.tar")).unwrap();
    let resp = daemon.request("POST", "/images/load", &[], &archive[..archive.len() / 2]);
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(!resp.json()["message"].as_str().unwrap().is_empty());
    let err = daemon.docker_err(&["load", "-i", "/dev/null"]);
    assert!(!err.trim().is_empty());
    assert_eq!(daemon.docker_ok(&["images", "-q"]), "");
    assert_eq!(
        daemon.blob_names(),
        Vec::<String>::new(),
        "blobs left after failed loads"
    );
    let snapshots = std::fs::read_dir(daemon.data_root().join("store/snapshots"))
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    assert_eq!(snapshots, 0, "layer snapshots left after failed loads");
    // A good load still works afterwards.
    load(&daemon, "busybox.docker-archive.tar");
}

#[test]
fn push_and_pull_through_a_local_registry() {
    let daemon = Daemon::start();
    let registry = Registry::start(&[]);
    load(&daemon, "whiteouts.docker-archive.tar");
    let name = format!("{}/images-test/whiteouts:1", registry.addr);
    daemon.docker_ok(&["tag", "fixtures/whiteouts:1", &name]);
    let pushed = daemon.docker_ok(&["push", &name]);
    assert!(
        pushed.contains(&format!(
            "The push refers to repository [{}/images-test/whiteouts]",
            registry.addr
        )),
        "{pushed}"
    );
    let digest_line = pushed
        .lines()
        .find(|l| l.starts_with("1: digest: sha256:"))
        .unwrap_or_else(|| panic!("no digest line: {pushed}"));
    let digest = digest_line.split(' ').nth(2).unwrap().to_owned();

    // What the registry holds, without pulling.
    let dist = daemon
        .request("GET", &format!("/distribution/{name}/json"), &[], &[])
        .json();
    assert_eq!(dist["Descriptor"]["digest"], digest.as_str());
    assert_eq!(
        dist["Platforms"],
        serde_json::json!([{"architecture": "amd64", "os": "linux"}])
    );

    daemon.docker_ok(&["rmi", &name, "fixtures/whiteouts:1"]);
    assert_eq!(daemon.docker_ok(&["images", "-q"]), "");
    assert_eq!(daemon.blob_names(), Vec::<String>::new());

    let pulled = daemon.docker_ok(&["pull", &name]);
    assert!(
        pulled.contains("1: Pulling from images-test/whiteouts"),
        "{pulled}"
    );
    assert!(pulled.contains("Pull complete"), "{pulled}");
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    assert!(
        pulled.contains(&format!("Status: Downloaded newer image for {name}")),
        "{pulled}"
    );
    let inspect = daemon.docker_ok(&["image", "inspect", "-f", "{{.Id}} {{.RepoDigests}}", &name]);
    assert_eq!(
        inspect.trim(),
        format!(
            "{WHITEOUTS_ID} [{}/images-test/whiteouts@{digest}]",
            registry.addr
        )
    );
    let history = daemon.docker_ok(&["history", "--format", "{{.Size}}", &name]);
    assert_eq!(history, "0B\n0B\n0B\n4B\n7B\n10B\n1.98MB\n");
    let again = daemon.docker_ok(&["pull", &name]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {name}")),
        "{again}"
    );

    // The raw progress stream: Docker's message shapes.
    daemon.docker_ok(&["rmi", &name]);
    let resp = daemon.request(
        "POST",
        &format!(
            "/v1.41/images/create?fromImage={}/images-test/whiteouts&tag=1",
            registry.addr
        ),
        &[],
        &[],
    );
    assert_eq!(resp.status, 200);
    let lines = resp.json_lines();
    assert_eq!(
        lines[0],
        serde_json::json!({"status": "Pulling from images-test/whiteouts", "id": "1", "progressDetail": {}})
    );
    assert!(
        lines
            .iter()
            .any(|l| l["status"] == "Pull complete"
                && l["id"].as_str().is_some_and(|i| i.len() == 12))
    );
    assert!(lines.iter().all(|l| l.get("error").is_none()), "{lines:?}");

    // Unknown image and unknown tag: errors before the stream starts.
    let err = daemon.docker_err(&["pull", &format!("{}/images-test/nope:1", registry.addr)]);
    assert!(
        err.contains("404") || err.contains("not found") || err.contains("unknown"),
        "{err}"
    );
    let resp = daemon.request(
        "POST",
        &format!(
            "/images/create?fromImage={}/images-test/whiteouts&tag=nope",
            registry.addr
        ),
        &[],
        &[],
    );
    assert_eq!(resp.status, 404, "{}", resp.text());
    let err = daemon.docker_err(&["push", &format!("{}/images-test/absent:1", registry.addr)]);
    assert!(err.contains("does not exist locally"), "{err}");
}

#[test]
fn login_and_authenticated_push() {
    let daemon = Daemon::start();
    let registry = Registry::start(&[("alice", "alice-pw")]);
    let ok = daemon.docker_ok(&["login", &registry.addr, "-u", "alice", "-p", "alice-pw"]);
    assert!(ok.contains("Login Succeeded"), "{ok}");
    let err = daemon.docker_err(&["login", &registry.addr, "-u", "alice", "-p", "wrong"]);
    assert!(err.contains("401") || err.contains("nauthorized"), "{err}");
    let resp = daemon.request(
        "POST",
        "/auth",
        &[("Content-Type", "application/json")],
        format!(
            r#"{{"username":"alice","password":"alice-pw","serveraddress":"{}"}}"#,
            registry.addr
        )
        .as_bytes(),
    );
    assert_eq!(
        resp.json(),
        serde_json::json!({"Status": "Login Succeeded", "IdentityToken": ""})
    );

    load(&daemon, "busybox.docker-archive.tar");
    let name = format!("{}/alice/busybox:1", registry.addr);
    daemon.docker_ok(&["tag", "fixtures/busybox:1.35", &name]);
    // Without credentials the push is refused; with the stored login it goes through.
    let anonymous = daemon.dir.path().join("anonymous-config");
    std::fs::create_dir_all(&anonymous).unwrap();
    let out = daemon.docker_with_config(&["push", &name], &anonymous);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "anonymous push succeeded");
    assert!(stderr.contains("401 Unauthorized"), "{stderr}");
    let pushed = daemon.docker_ok(&["push", &name]);
    assert!(pushed.contains("1: digest: sha256:"), "{pushed}");
    daemon.docker_ok(&["rmi", &name, "fixtures/busybox:1.35"]);
    let pulled = daemon.docker_ok(&["pull", &name]);
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    let id = daemon.docker_ok(&["image", "inspect", "-f", "{{.Id}}", &name]);
    assert_eq!(id.trim(), BUSYBOX_ID);
}

#[test]
fn commit_turns_container_changes_into_a_layer() {
    let mut daemon = Daemon::start();
    load(&daemon, "busybox.docker-archive.tar");
    let container_id = format!("{:064x}", std::process::id() as u128 * 104729);
    daemon.while_stopped(|data_root| {
        let store = berth_store::Store::open(&data_root.join("store")).unwrap();
        let mount = store
            .prepare_container(
                &container_id,
                BUSYBOX_ID,
                berth_store::snapshot::Driver::Overlay,
            )
            .unwrap();
        let upper = mount
            .options
            .iter()
            .find_map(|o| o.strip_prefix("upperdir="))
            .expect("overlay snapshot has an upper dir");
        std::fs::create_dir_all(format!("{upper}/etc")).unwrap();
        std::fs::write(format!("{upper}/etc/committed"), "yes\n").unwrap();
    });
    write_container(&daemon, &container_id, BUSYBOX_ID, false);
    daemon.restart();
    let name = format!("images-test-{}", std::process::id());
    let resp = daemon.request(
        "POST",
        &format!("/commit?container={name}&repo=committed&tag=1&comment=c1&changes=ENV%20X%3D1"),
        &[],
        &[],
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    let id = resp.json()["Id"].as_str().unwrap().to_owned();
    let inspect = daemon.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}} {{len .RootFS.Layers}} {{.Config.Env}} {{.Comment}}",
        "committed:1",
    ]);
    assert_eq!(inspect.trim(), format!("{id} 2 [X=1] c1"));
    let history = daemon.docker_ok(&[
        "history",
        "--format",
        "{{.Size}} {{.Comment}}",
        "committed:1",
    ]);
    assert_eq!(history.lines().next(), Some("4B c1"), "{history}");
    let resp = daemon.request("POST", "/commit?container=nope", &[], &[]);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json()["message"], "No such container: nope");
}
