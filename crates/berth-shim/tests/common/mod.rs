//! Shared helpers: a bundle, isolated dirs, a started shim whose guard kills it and
//! force-deletes its container if the test fails before the container exited.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_shim::exit::ExitRecord;
use berth_testutil::Bundle;
use oci_spec::runtime::LinuxNamespaceType;
use serde_json::Value;

pub fn bundle(args: &[&str]) -> Bundle {
    berth_testutil::require_root();
    Bundle::from_oci_archive(&berth_testutil::fixture("busybox.oci-archive.tar"), args)
}

/// Drops the pid namespace, so processes orphaned in the container reparent to the shim.
pub fn without_pid_namespace(bundle: &mut Bundle) {
    let mut linux = bundle.spec.linux().clone().expect("default spec has linux");
    let namespaces = linux
        .namespaces()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.typ() != LinuxNamespaceType::Pid)
        .collect();
    linux.set_namespaces(Some(namespaces));
    bundle.spec.set_linux(Some(linux));
    bundle.save();
}

pub fn with_terminal(bundle: &mut Bundle) {
    let mut process = bundle.spec.process().clone().expect("process");
    process.set_terminal(Some(true));
    bundle.spec.set_process(Some(process));
    bundle.save();
}

/// A running (or finished) shim and the dirs it uses.
pub struct Shim {
    pub id: String,
    pub dir: tempfile::TempDir,
    pub report: Value,
    pub status: i32,
}

impl Shim {
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    pub fn runtime_root(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("container.log")
    }
    pub fn pid(&self) -> i32 {
        self.report["pid"].as_i64().expect("report has pid") as i32
    }
    pub fn shim_pid(&self) -> i32 {
        self.report["shim_pid"]
            .as_i64()
            .expect("report has shim_pid") as i32
    }

    /// Waits for exit.json.
    pub fn wait_exit(&self, timeout: Duration) -> ExitRecord {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(rec) = ExitRecord::load(&self.state_dir()).expect("readable exit.json") {
                return rec;
            }
            assert!(Instant::now() < deadline, "no exit.json after {timeout:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn control(&self, command: &str) -> Value {
        let reply = berth_shim::client::control(&self.state_dir(), command).expect("control");
        serde_json::from_str(&reply).expect("reply is JSON")
    }

    /// Every entry of the json-file log (the live file only).
    pub fn log_entries(&self) -> Vec<Value> {
        read_log(&self.log_path())
    }
}

pub fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
        .collect()
}

impl Drop for Shim {
    fn drop(&mut self) {
        if self.state_dir().join("exit.json").exists() {
            return;
        }
        if let Some(pid) = self.report["shim_pid"].as_i64() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        if let Ok(id) = berth_runtime::container::ContainerId::parse(&self.id) {
            let _ = berth_runtime::container::delete(&self.runtime_root(), &id, true);
        }
    }
}

pub fn unique_id(name: &str) -> String {
    format!("shim-{}-{name}", std::process::id())
}

/// Starts a shim for `bundle` with `extra` flags; returns once the starter exited.
pub fn start(name: &str, bundle: &Bundle, extra: &[&str]) -> Shim {
    start_via(name, bundle, extra, None)
}

/// Like `start`, optionally through `sh -c` (an intermediate parent that exits).
pub fn start_via(name: &str, bundle: &Bundle, extra: &[&str], shell: Option<&str>) -> Shim {
    let dir = tempfile::Builder::new()
        .prefix("berth-shim-test-")
        .tempdir()
        .expect("tempdir");
    let id = unique_id(name);
    let mut shim = Shim {
        id: id.clone(),
        dir,
        report: Value::Null,
        status: -1,
    };
    let mut argv: Vec<String> = vec![
        "--id".into(),
        id,
        "--bundle".into(),
        bundle.path().display().to_string(),
        "--runtime-root".into(),
        shim.runtime_root().display().to_string(),
        "--state-dir".into(),
        shim.state_dir().display().to_string(),
        "--log-path".into(),
        shim.log_path().display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    // BERTH_SHIM_EXE lets the memory measurement run a release build under debug tests.
    let exe = std::env::var("BERTH_SHIM_EXE")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_berth-shim").to_string());
    let output = match shell {
        None => Command::new(&exe).args(&argv).output(),
        Some(script) => Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&exe)
            .args(&argv)
            .output(),
    }
    .expect("run berth-shim");
    let stdout = String::from_utf8_lossy(&output.stdout);
    shim.status = output.status.code().unwrap_or(-1);
    shim.report = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "starter printed {stdout:?} (stderr {:?}): {e}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    shim
}

/// `/proc/<pid>/stat`'s (state, ppid), or None once the process is gone.
pub fn proc_state(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The session ID of `pid`, from /proc (0 when the process was started outside any session, as
/// CI's runner is — which `getsid(2)` wrappers that insist on a positive PID cannot represent).
pub fn session_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(3)?.parse().ok()
}

/// Every process whose parent is `ppid`, with its state.
pub fn children_of(ppid: i32) -> Vec<(i32, char)> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let (state, parent) = proc_state(pid)?;
            (parent == ppid).then_some((pid, state))
        })
        .collect()
}

/// Asserts an RFC 3339 UTC timestamp with optional nanoseconds, like Docker's.
pub fn assert_timestamp(t: &str) {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    assert!(
        b.len() >= 20
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && digits(14..16)
            && digits(17..19)
            && t.ends_with('Z')
            && (b.len() == 20 || (b[19] == b'.' && digits(20..b.len() - 1))),
        "not an RFC 3339 timestamp: {t:?}"
    );
    let year: i32 = t[..4].parse().unwrap();
    assert!(year >= 2024, "implausible year in {t:?}");
}
