//! Shared helpers: a uniquely named test cgroup that kills its processes and removes itself on
//! drop (even when the test panics), and small process helpers.

#![allow(dead_code)]

pub mod suite;
pub mod v1;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_cgroups::{FreezerState, Manager};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `berth-cgroups-<test>-<pid>-<n><nanos>`: unique across parallel tests and helpers.
pub fn unique_name(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("berth-cgroups-{test}-{}-{n}{nanos:x}", std::process::id())
}

/// A test's cgroup: on drop thaws, kills every process inside, destroys the directories and
/// removes `extra_dirs` (parents the test created), deepest first.
pub struct TestCgroup {
    pub manager: Box<dyn Manager>,
    pub cgroups_path: String,
    pub extra_dirs: Vec<PathBuf>,
    children: Vec<Child>,
}

impl TestCgroup {
    pub fn new(manager: Box<dyn Manager>, cgroups_path: String) -> Self {
        TestCgroup {
            manager,
            cgroups_path,
            extra_dirs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Spawns `program args` with stdin piped (the child waits on it when scripted to), moves
    /// it into the cgroup and returns its pid. Keep the child for cleanup.
    pub fn spawn_inside(&mut self, program: &str, args: &[&str]) -> i32 {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {program}: {e}"));
        let pid = child.id() as i32;
        self.children.push(child);
        self.manager.apply(pid).expect("apply(pid)");
        pid
    }

    /// Tracks a child spawned by the test itself (killed and reaped on drop like the others).
    pub fn adopt(&mut self, child: Child) -> i32 {
        let pid = child.id() as i32;
        self.children.push(child);
        pid
    }

    pub fn child_mut(&mut self, pid: i32) -> &mut Child {
        self.children
            .iter_mut()
            .find(|c| c.id() as i32 == pid)
            .expect("known child")
    }

    /// Sends a line to the child's stdin (releases a `read line` gate in its script).
    pub fn release(&mut self, pid: i32) {
        let stdin: &mut ChildStdin = self.child_mut(pid).stdin.as_mut().expect("piped stdin");
        stdin.write_all(b"go\n").expect("writing to child stdin");
        stdin.flush().expect("flush");
    }

    /// Waits for the child and returns (status, stdout, stderr).
    pub fn wait_output(&mut self, pid: i32) -> (std::process::ExitStatus, String, String) {
        let index = self
            .children
            .iter()
            .position(|c| c.id() as i32 == pid)
            .expect("known child");
        let child = self.children.remove(index);
        let output = child.wait_with_output().expect("wait_with_output");
        (
            output.status,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = self.manager.freeze(FreezerState::Thawed);
        for pid in self.manager.pids().unwrap_or_default() {
            kill(pid);
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Grandchildren (e.g. a fork bomb's sleepers) are not ours to wait for: poll until empty.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let pids = self.manager.pids().unwrap_or_default();
            if pids.is_empty() {
                break;
            }
            pids.into_iter().for_each(kill);
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Err(e) = self.manager.destroy() {
            eprintln!("cleanup of {}: {e}", self.cgroups_path);
        }
        for dir in self.extra_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

pub fn kill(pid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Field 3 of /proc/<pid>/status's `State:` line, e.g. `S (sleeping)`.
pub fn process_state(pid: i32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .map(|s| s.trim().to_owned())
        .expect("State line")
}

/// utime + stime in clock ticks from /proc/<pid>/stat.
pub fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("reading stat");
    let after_comm = stat.rsplit_once(')').expect("comm").1;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

pub fn read_trimmed(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// Polls `check` for up to `timeout`.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}

/// Makes `dir/null` (1:3) and `dir/zero` (1:5) character device nodes.
pub fn make_device_nodes(dir: &Path) {
    for (name, minor) in [("null", 3), ("zero", 5)] {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join(name),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, minor),
        )
        .unwrap_or_else(|e| panic!("mknod {name}: {e}"));
    }
}

/// Script for `sh -c`: wait for the go line, then try to open each device node.
pub fn device_probe_script(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "read line; \
         if ( : < {d}/null ); then echo null-ok; else echo null-denied; fi; \
         if ( : < {d}/zero ); then echo zero-ok; else echo zero-denied; fi"
    )
}
