//! A private dockerd for the CLI's integration tests: its own data root, exec root and
//! socket, no bridge and no iptables changes; containers run with `--network none`.
//! Everything it made is removed on drop, even when the test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BUSYBOX: &str = "fixtures/busybox:1.35";
const BUSYBOX_ARCHIVE: &str = "/work/shared/images/busybox.docker-archive.tar";

pub struct Dockerd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    child: Child,
}

impl Dockerd {
    /// Starts dockerd and loads the busybox fixture (with the docker CLI, the reference).
    pub fn start(label: &str) -> Dockerd {
        for tool in ["dockerd", "docker"] {
            assert!(
                Command::new("which")
                    .arg(tool)
                    .output()
                    .is_ok_and(|o| o.status.success()),
                "{tool} is not installed (scripts/install-deps installs it)"
            );
        }
        let dir = PathBuf::from(format!("/tmp/berth-cli-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            .args(["--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let dockerd = Dockerd { dir, socket, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dockerd.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not start: {}",
                std::fs::read_to_string(dockerd.dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let load = dockerd.docker(&["load", "-i", BUSYBOX_ARCHIVE]);
        assert!(load.status.success(), "docker load: {load:?}");
        dockerd
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The reference client against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.join("docker-config"))
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    /// `berth` against this daemon.
    pub fn berth(&self, args: &[&str]) -> Output {
        self.berth_cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("run berth")
    }

    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_HOST", self.host())
            .env_remove("DOCKER_HOST")
            .env("DOCKER_CONFIG", self.dir.join("berth-config"));
        cmd
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("berth-config")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let ids = self.docker(&["ps", "-aq"]);
        let ids = String::from_utf8_lossy(&ids.stdout).into_owned();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = self.docker(&args);
        }
        // SIGTERM lets dockerd unmount and clean up; then reap it.
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        unmount_below(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Lazily unmounts whatever is still mounted under `dir`, deepest first.
fn unmount_below(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.to_string_lossy().into_owned();
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

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}
