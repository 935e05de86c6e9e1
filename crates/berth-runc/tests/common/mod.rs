//! Shared helpers for berth-runc's CLI tests: a temp state root, a unique container id, a
//! busybox bundle, and a guard that force-deletes the container whatever happens.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_testutil::{Bundle, fixture, require_root};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_berth-runc");

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One container under test: its own state root, id and bundle; force-deleted on drop.
pub struct Ctr {
    pub root: TempDir,
    pub id: String,
    pub bundle: Bundle,
}

impl Ctr {
    /// A busybox bundle running `args` (with runc's default namespaces from oci-spec).
    pub fn new(args: &[&str]) -> Ctr {
        require_root();
        let root = tempfile::Builder::new()
            .prefix("berth-runc-root-")
            .tempdir()
            .expect("tempdir");
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("rtcore-{}-{n}", std::process::id());
        let bundle = Bundle::from_oci_archive(&fixture("busybox.oci-archive.tar"), args);
        Ctr { root, id, bundle }
    }

    /// Edits the spec (then saves config.json).
    pub fn edit(&mut self, f: impl FnOnce(&mut serde_json::Value)) {
        let path = self.bundle.path().join("config.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--root").arg(self.root.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs a berth-runc command and returns its output (no assertion). Output goes through
    /// files, not pipes: a container process inherits them and may outlive the command.
    pub fn runc(&self, args: &[&str]) -> Output {
        run_to_files(self.cmd(args))
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.runc(args);
        assert!(
            out.status.success(),
            "berth-runc {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn bundle_path(&self) -> &Path {
        self.bundle.path()
    }

    pub fn create(&self) {
        self.ok(&[
            "create",
            "--bundle",
            self.bundle_path().to_str().unwrap(),
            &self.id,
        ]);
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", &self.id])).expect("state JSON")
    }

    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap().to_string()
    }

    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap() as i32
    }

    /// Polls until `status` is reached (or fails after 10 s).
    pub fn wait_status(&self, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.status();
            if now == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container stuck in {now}, wanted {status}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.path().join(&self.id)
    }

    /// The container's cgroup dir in one v1 controller.
    pub fn cgroup_dir(&self, controller: &str) -> PathBuf {
        PathBuf::from("/sys/fs/cgroup")
            .join(controller)
            .join(&self.id)
    }

    /// Asserts nothing of the container is left: state dir, cgroup dirs, process.
    pub fn assert_gone(&self, pid: Option<i32>) {
        assert!(
            !self.state_dir().exists(),
            "state dir {} left behind",
            self.state_dir().display()
        );
        for c in ["memory", "pids", "freezer", "cpu", "devices"] {
            assert!(
                !self.cgroup_dir(c).exists(),
                "cgroup {} left behind",
                self.cgroup_dir(c).display()
            );
        }
        if let Some(pid) = pid {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            assert!(
                stat.is_empty() || stat.contains(") Z "),
                "process {pid} still alive: {stat}"
            );
        }
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .arg("--root")
            .arg(self.root.path())
            .args(["delete", "--force", &self.id])
            .stderr(Stdio::null())
            .status();
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd` with stdout/stderr in temp files; waits for the command only (not for every
/// process that inherited its stdio).
pub fn run_to_files(mut cmd: Command) -> Output {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    cmd.stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap());
    let status = cmd.status().expect("spawn berth-runc");
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    Output {
        status,
        stdout: read(out),
        stderr: read(err),
    }
}
