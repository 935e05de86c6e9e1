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
        let shim = berth.with_file_name("berth-shim");
        assert!(
            shim.is_file(),
            "{} must be built first (cargo build -p berth-shim)",
            shim.display()
        );
        // Short: the shims' socket paths must fit in sun_path.
        let dir = tempfile::Builder::new()
            .prefix("bcli")
            .tempdir_in("/tmp")
            .unwrap();
        let log = std::fs::File::create(dir.path().join("berthd.log")).unwrap();
        let child = Command::new(&berthd)
            .arg("-H")
            .arg(format!("unix://{}", dir.path().join("b.sock").display()))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("r"))
            .env("BERTH_SHIM", &shim)
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

    fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_HOST", self.host())
            .env_remove("DOCKER_HOST");
        cmd
    }

    fn berth(&self, args: &[&str]) -> Output {
        self.berth_cmd(args).stdin(Stdio::null()).output().unwrap()
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
        let ids = String::from_utf8_lossy(&self.berth(&["ps", "-aq"]).stdout).into_owned();
        for id in ids.split_whitespace() {
            let _ = self.berth(&["rm", "-f", id]);
        }
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
        // Shims outlive the daemon by design: stop the ones this daemon started.
        let exec_root = self.dir.path().join("r");
        for pid in pids_mentioning(&exec_root) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let prefix = self.dir.path().to_string_lossy().into_owned();
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&prefix))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for point in points {
            let _ = rustix::mount::unmount(point, rustix::mount::UnmountFlags::DETACH);
        }
    }
}

/// Processes whose command line mentions `path`.
fn pids_mentioning(path: &Path) -> Vec<i32> {
    let needle = path.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
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

#[test]
fn container_commands_on_berthd() {
    let d = Berthd::start();
    out(&d.berth(&[
        "load",
        "-i",
        "/work/shared/images/busybox.docker-archive.tar",
    ]));
    let image = "fixtures/busybox:1.35";
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--network", "none"];
        all.extend_from_slice(args);
        d.berth(&all)
    };
    assert_eq!(out(&run(&["--rm", image, "echo", "hello"])), "hello\n");
    assert_eq!(
        run(&["--rm", image, "sh", "-c", "exit 3"]).status.code(),
        Some(3)
    );
    assert_eq!(
        run(&["--rm", image, "no-such-command"]).status.code(),
        Some(127)
    );

    let name = format!("bcli-{}", std::process::id());
    let id = out(&run(&[
        "-d",
        "--name",
        &name,
        "-l",
        "k=v",
        image,
        "sh",
        "-c",
        "echo up; sleep 600",
    ]));
    assert_eq!(id.trim().len(), 64, "{id}");
    let done = format!("bcli-done-{}", std::process::id());
    assert_eq!(
        run(&["--name", &done, image, "sh", "-c", "exit 4"])
            .status
            .code(),
        Some(4)
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(out(&d.berth(&["logs", &name])), "up\n");
    let top = out(&d.berth(&["top", &name]));
    assert!(top.starts_with("UID") && top.contains("sleep 600"), "{top}");
    let stats = out(&d.berth(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        &name,
    ]));
    // busybox sh execs its last command: one process.
    assert_eq!(stats, format!("{name} 1\n"));
    let mut piped = d
        .berth_cmd(&[
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            image,
            "tr",
            "a-z",
            "A-Z",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut piped.stdin.take().unwrap(), b"shout\n").unwrap();
    assert_eq!(out(&piped.wait_with_output().unwrap()), "SHOUT\n");
    for args in [
        &["ps"][..],
        &["ps", "-a"],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-aq"],
        &[
            "ps",
            "-a",
            "--format",
            "{{.Names}} {{.Label \"k\"}} {{.State}}",
        ],
        &[
            "inspect",
            "-f",
            "{{.Name}} {{.State.Status}} {{.Config.Labels}}",
            &name,
        ],
        &["inspect", "-f", "{{.State.ExitCode}}", &done],
    ] {
        assert_same(&d, args);
    }
    assert_eq!(
        out(&d.berth(&["stop", "-t", "1", &name])),
        format!("{name}\n")
    );
    assert_eq!(
        out(&d.berth(&["rm", &name, &done])),
        format!("{name}\n{done}\n")
    );
    assert_eq!(out(&d.berth(&["ps", "-aq"])), "");
}
