//! A berthd that can be started with a fault point armed (`BERTH_FAULT`) and killed with
//! SIGKILL, on one data root across its lives. Dropping it removes its containers, stops it,
//! kills its leftover shims, and removes mounts, cgroups and the temp dir.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{cgroup_dirs, mounts_under, pids_mentioning, signal};

pub struct CrashDaemon {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    lives: u32,
}

/// A hung client must fail the test, not hang it.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

impl CrashDaemon {
    /// A data root with busybox loaded; the daemon is not running yet.
    pub fn prepare() -> CrashDaemon {
        berth_testutil::require_root();
        berth_testutil::require_program("docker");
        let dir = tempfile::Builder::new()
            // Short: the shims' socket paths must fit in sun_path (108 bytes).
            .prefix("bl5c")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let daemon = CrashDaemon {
            dir,
            child: None,
            lives: 0,
        };
        let store = berth_store::Store::open(&daemon.data_root().join("store")).expect("store");
        let archive = std::fs::File::open(berth_testutil::fixture("busybox.docker-archive.tar"))
            .expect("fixture");
        store.load_archive(archive).expect("load busybox");
        store
            .images
            .tag("fixtures/busybox:1.35", "busybox:latest")
            .expect("tag busybox");
        daemon
    }

    /// Starts berthd (the previous one must be gone), `fault` armed if given; waits until it
    /// answers.
    pub fn start(&mut self, fault: Option<&str>) {
        assert!(self.child.is_none(), "berthd is already running");
        self.lives += 1;
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let berthd = PathBuf::from(env!("CARGO_BIN_EXE_berthd"));
        let shim = berthd.with_file_name("berth-shim");
        assert!(
            shim.is_file(),
            "{} is missing: cargo build --bins",
            shim.display()
        );
        let mut cmd = Command::new(&berthd);
        cmd.arg("-H")
            .arg(self.socket())
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("--log-level")
            .arg("debug")
            .env("BERTH_SHIM", shim)
            .env_remove("BERTH_FAULT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(fault) = fault {
            cmd.env("BERTH_FAULT", fault);
        }
        self.child = Some(cmd.spawn().expect("spawn berthd"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "berthd did not answer; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the daemon to die at its armed fault point (SIGABRT), asserting it did.
    pub fn expect_abort(&mut self, fault: &str) {
        let mut child = self.child.take().expect("berthd is not running");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait berthd") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("berthd did not abort at {fault}; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc_sigabrt()),
            "berthd ended with {status} instead of aborting at {fault}; log:\n{}",
            self.log()
        );
        assert!(
            self.log().contains(&format!("BERTH_FAULT={fault}")),
            "the abort was not at {fault}; log:\n{}",
            self.log()
        );
    }

    /// `kill -9` of the daemon (its containers keep running).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, as a service manager stops it; asserts a clean exit.
    pub fn terminate(&mut self) {
        let mut child = self.child.take().expect("berthd is not running");
        signal(child.id() as i32, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait berthd") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "berthd ignored SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "berthd exited {status}; log:\n{}",
            self.log()
        );
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
    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("berthd.{}.log", self.lives))
    }
    /// Every life's log, oldest first.
    pub fn log(&self) -> String {
        (1..=self.lives)
            .map(|n| {
                let path = self.dir.path().join(format!("berthd.{n}.log"));
                format!(
                    "--- berthd life {n} ---\n{}",
                    std::fs::read_to_string(path).unwrap_or_default()
                )
            })
            .collect()
    }

    /// `docker args…` aimed at this daemon, not yet spawned (for commands that stream).
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        cmd
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        let mut child = self
            .docker_cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run docker");
        let deadline = Instant::now() + DOCKER_TIMEOUT;
        while child.try_wait().expect("wait docker").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("docker {args:?} hung for {DOCKER_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().expect("docker output")
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

    /// The entries of a directory under the temp dir, sorted.
    pub fn entries(&self, dir: PathBuf) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The container directories in the data root.
    pub fn container_dirs(&self) -> Vec<String> {
        self.entries(self.data_root().join("containers"))
    }

    /// The snapshot directories of the store (layers and containers).
    pub fn snapshot_dirs(&self) -> Vec<String> {
        self.entries(self.data_root().join("store/snapshots"))
            .into_iter()
            .filter(|n| n.parse::<u64>().is_ok())
            .collect()
    }

    /// Mount points under the data root's containers.
    pub fn container_mounts(&self) -> Vec<PathBuf> {
        mounts_under(&self.data_root().join("containers"))
    }

    /// This daemon's shims (their command lines carry their state dirs).
    pub fn shim_pids(&self) -> Vec<i32> {
        pids_mentioning(&self.exec_root().join("shims"))
    }
}

fn libc_sigabrt() -> i32 {
    rustix::process::Signal::ABORT.as_raw()
}

impl Drop for CrashDaemon {
    fn drop(&mut self) {
        let ids = self.container_dirs();
        if self.child.is_some() && !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.docker(&args);
        }
        if let Some(child) = &self.child {
            signal(child.id() as i32, rustix::process::Signal::TERM);
        }
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in self.shim_pids() {
            signal(pid, rustix::process::Signal::KILL);
        }
        std::thread::sleep(Duration::from_millis(50));
        for id in self.container_dirs() {
            for dir in cgroup_dirs(&id) {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        for mount in mounts_under(self.dir.path()) {
            let _ = rustix::mount::unmount(&mount, rustix::mount::UnmountFlags::DETACH);
        }
    }
}
