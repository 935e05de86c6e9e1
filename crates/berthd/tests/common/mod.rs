//! A private berthd for one test: its own socket, data root and exec root under a temp dir,
//! the busybox fixture loaded into its store (tagged `busybox`), driven with the real `docker`
//! CLI. Dropping it removes its containers, stops the daemon, kills leftover shims, and
//! removes mounts, cgroups and the temp dir.

#![allow(dead_code)]

pub mod net;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

/// `berth-shim` beside the berthd under test (cargo builds both into `target/<profile>`).
fn shim_binary() -> PathBuf {
    let berthd = PathBuf::from(env!("CARGO_BIN_EXE_berthd"));
    let shim = berthd.with_file_name("berth-shim");
    assert!(
        shim.is_file(),
        "{} is missing: build it first (cargo build -p berth-shim)",
        shim.display()
    );
    shim
}

impl Daemon {
    pub fn start() -> Daemon {
        berth_testutil::require_root();
        berth_testutil::require_program("docker");
        let dir = tempfile::Builder::new()
            // Short: the shims' socket paths must fit in sun_path (108 bytes).
            .prefix("bctr")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let daemon = Daemon { dir, child: None };
        let store = berth_store::Store::open(&daemon.data_root().join("store")).expect("store");
        let archive = std::fs::File::open(berth_testutil::fixture("busybox.docker-archive.tar"))
            .expect("fixture");
        store.load_archive(archive).expect("load busybox");
        store
            .images
            .tag("fixtures/busybox:1.35", "busybox:latest")
            .expect("tag busybox");
        drop(store);
        daemon.spawn()
    }

    fn spawn(mut self) -> Daemon {
        let log = std::fs::File::create(self.dir.path().join("berthd.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_berthd"))
            .arg("-H")
            .arg(self.socket())
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("--log-level")
            .arg("debug")
            .env("BERTH_SHIM", shim_binary())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn berthd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "berthd did not answer; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self
    }

    /// Stops the daemon (containers keep running), runs `meanwhile`, and starts it again on
    /// the same state.
    pub fn restart_with(mut self, meanwhile: impl FnOnce(&Daemon)) -> Daemon {
        self.stop_daemon();
        meanwhile(&self);
        self.spawn()
    }

    /// The ID of container `name`, read from its record (works while the daemon is down).
    pub fn ok_offline_id(&self, name: &str) -> String {
        self.container_ids()
            .into_iter()
            .find(|id| {
                let path = self
                    .data_root()
                    .join("containers")
                    .join(id)
                    .join("config.v2.json");
                let record: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(path).unwrap_or_default())
                        .unwrap_or_default();
                record["Name"] == name
            })
            .unwrap_or_else(|| panic!("no container named {name}"))
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("berthd.sock")
    }
    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn exec_root(&self) -> PathBuf {
        self.dir.path().join("r")
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT");
        cmd
    }

    /// The `berth` CLI built beside berthd (`cargo build --bins` builds both), pointed at
    /// this daemon with its own client config; stdin is /dev/null unless the caller sets it.
    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let binary = Path::new(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth");
        assert!(
            binary.is_file(),
            "{} is missing: build it first (cargo build --bins)",
            binary.display()
        );
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .env("BERTH_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the `berth` CLI against this daemon (see [`Daemon::berth_cmd`]).
    pub fn berth(&self, args: &[&str]) -> Output {
        self.berth_cmd(args).output().expect("run berth")
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = self.docker_cmd(args);
        cmd.stdin(Stdio::null());
        run_with_timeout(cmd, None, args)
    }

    /// Runs the shell command `line` (which calls docker) on a fresh pty, through `script`.
    pub fn in_pty(&self, line: &str) -> Output {
        berth_testutil::require_program("script");
        let mut cmd = Command::new("script");
        cmd.args(["-qec", line, "/dev/null"])
            .env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .stdin(Stdio::null());
        run_with_timeout(cmd, None, &[line])
    }

    /// Runs docker with `input` on its stdin.
    pub fn docker_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut cmd = self.docker_cmd(args);
        cmd.stdin(Stdio::piped());
        run_with_timeout(cmd, Some(input), args)
    }

    /// Runs docker and returns its stdout, asserting success.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}): {}\nberthd log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    fn stop_daemon(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id() as i32, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// This daemon's shims (their command lines carry their state dirs).
    pub fn shim_pids(&self) -> Vec<i32> {
        pids_mentioning(&self.exec_root().join("shims"))
    }

    /// IDs of the containers in this daemon's data root.
    pub fn container_ids(&self) -> Vec<String> {
        std::fs::read_dir(self.data_root().join("containers"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// A hung client must fail the test, not hang it.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

fn run_with_timeout(mut cmd: Command, input: Option<&[u8]>, args: &[&str]) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docker");
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        stdin.write_all(input).expect("write docker's stdin");
    }
    let deadline = Instant::now() + DOCKER_TIMEOUT;
    while child.try_wait().expect("wait docker").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("docker output");
            panic!(
                "docker {args:?} hung for {DOCKER_TIMEOUT:?}; stdout {:?} stderr {:?}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("docker output")
}

/// Processes whose command line mentions `needle` (our shims carry our exec root in theirs).
pub fn pids_mentioning(needle: &Path) -> Vec<i32> {
    let needle = needle.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .collect()
}

pub fn signal(pid: i32, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Mount points under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let prefix = dir.to_string_lossy().into_owned();
    let mut mounts: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(PathBuf::from)
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    mounts
}

/// The container's cgroup directories (v1 controllers and the v2 mount).
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("berth").join(id))
        .filter(|p| p.is_dir())
        .collect()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            let ids = self.container_ids();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.docker(&args);
            }
        }
        self.stop_daemon();
        for pid in self.shim_pids() {
            signal(pid, rustix::process::Signal::KILL);
        }
        // A killed daemon removed nothing: its containers' processes still hold their network
        // namespaces (and so their veths) until they are gone too.
        for id in self.container_ids() {
            for dir in cgroup_dirs(&id) {
                let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines().filter_map(|l| l.trim().parse().ok()) {
                    signal(pid, rustix::process::Signal::KILL);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        for id in self.container_ids() {
            for dir in cgroup_dirs(&id) {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        for mount in mounts_under(self.dir.path()) {
            let _ = rustix::mount::unmount(&mount, rustix::mount::UnmountFlags::DETACH);
        }
        self.remove_network_state();
    }
}

impl Daemon {
    /// A daemon that was killed (or stopped with live containers) leaves its bridges and its
    /// nftables table on the host: tear down what its data root records, then make sure the
    /// names derived from the data root are gone too.
    fn remove_network_state(&self) {
        let paths = berth_engine::Paths::new(self.data_root(), self.exec_root());
        let options = berth_engine::network::NetworkOptions::for_paths(&paths);
        if let Ok(service) = berth_engine::network::NetworkService::open(&paths) {
            let _ = service.teardown_all();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &options.default_bridge])
            .stderr(Stdio::null())
            .status();
        for family in ["ip", "ip6"] {
            let _ = Command::new("nft")
                .args(["delete", "table", family, &options.table])
                .stderr(Stdio::null())
                .status();
        }
    }
}
