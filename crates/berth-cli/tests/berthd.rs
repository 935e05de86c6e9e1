//! `berth` against `berthd` (the endpoints that are on main so far): version negotiation,
//! version/info rendering, the events stream — compared with docker's CLI on the same daemon.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Berthd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Berthd {
    fn start() -> Berthd {
        let berth = Path::new(env!("CARGO_BIN_EXE_berth"));
        let berthd = berth.with_file_name("berthd");
        assert!(
            berthd.is_file(),
            "{} must be built first (cargo build -p berthd)",
            berthd.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-cli-berthd-")
            .tempdir()
            .unwrap();
        let log = std::fs::File::create(dir.path().join("berthd.log")).unwrap();
        let child = Command::new(&berthd)
            .arg("-H")
            .arg(format!("unix://{}", dir.path().join("b.sock").display()))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("run"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let daemon = Berthd { dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !daemon.berth(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "berthd did not answer: {}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("b.sock").display())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    fn berth(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("BERTH_HOST", self.host())
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap()
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", self.host())
            .env(
                "DOCKER_CONFIG",
                PathBuf::from(self.dir.path()).join("docker-config"),
            )
            .output()
            .expect("run docker")
    }
}

impl Drop for Berthd {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

fn out(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn berth_speaks_to_berthd() {
    let d = Berthd::start();
    let version = out(&d.berth(&["version"]));
    assert!(version.contains("Server: Berth"), "{version}");
    assert!(version.contains(" API version:       1.41\n"), "{version}");

    // The same templates give the same answers through both CLIs.
    for format in [
        "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}",
        "{{.Client.APIVersion}}",
        "{{json .Server.Platform}}",
    ] {
        assert_eq!(
            out(&d.berth(&["version", "-f", format])),
            out(&d.docker(&["version", "-f", format]))
        );
    }
    let format = "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.OSType}}";
    assert_eq!(
        out(&d.berth(&["info", "-f", format])),
        out(&d.docker(&["info", "-f", format]))
    );
    assert_eq!(
        out(&d.berth(&["system", "info", "--format", "{{.OSType}}"])),
        "linux\n"
    );

    // A bounded events query ends by itself.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let events = d.berth(&["events", "--since", "0", "--until", &now]);
    assert!(
        events.status.success(),
        "{}",
        String::from_utf8_lossy(&events.stderr)
    );
    let events = d.berth(&[
        "events",
        "--since",
        "1h",
        "--until",
        "1s",
        "--format",
        "{{json .}}",
    ]);
    assert!(
        events.status.success(),
        "{}",
        String::from_utf8_lossy(&events.stderr)
    );
}

/// Both CLIs print the same bytes for `args` against berthd (retried: "N seconds ago" ticks).
#[track_caller]
fn assert_same(d: &Berthd, args: &[&str]) {
    let mut last = (String::new(), String::new());
    for _ in 0..4 {
        let (ours, theirs) = (d.berth(args), d.docker(args));
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        last = (
            String::from_utf8_lossy(&ours.stdout).into_owned(),
            String::from_utf8_lossy(&theirs.stdout).into_owned(),
        );
        if last.0 == last.1 {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "{args:?} differs:\n--- berth\n{}--- docker\n{}",
        last.0, last.1
    );
}

#[test]
fn image_commands_on_berthd() {
    let d = Berthd::start();
    let loaded = out(&d.berth(&[
        "load",
        "-i",
        "/work/shared/images/busybox.docker-archive.tar",
    ]));
    assert_eq!(loaded, "Loaded image: fixtures/busybox:1.35\n");
    let alias = format!("berth-cli/alias-{}:v1", std::process::id());
    out(&d.berth(&["tag", "fixtures/busybox:1.35", &alias]));
    for args in [
        &["images"][..],
        &["images", "--digests"],
        &["images", "--no-trunc"],
        &["images", "-q"],
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ],
        &["history", "fixtures/busybox:1.35"],
        &["inspect", "fixtures/busybox:1.35"],
        &["image", "inspect", "-f", "{{.Id}} {{.Os}}", &alias],
        &["system", "df"],
    ] {
        assert_same(&d, args);
    }
    assert_eq!(
        out(&d.berth(&["rmi", &alias])),
        format!("Untagged: {alias}\n")
    );
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("saved.tar");
    out(&d.berth(&[
        "save",
        "-o",
        saved.to_str().unwrap(),
        "fixtures/busybox:1.35",
    ]));
    assert!(std::fs::metadata(&saved).unwrap().len() > 1_000_000);
}
