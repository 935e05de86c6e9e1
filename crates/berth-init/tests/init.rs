//! berth-init as a process: exit codes, signal forwarding, zombie reaping.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn init(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-init"));
    cmd.args(args).stdin(Stdio::null());
    cmd
}

/// Kills the init (and so its command) if a test fails before it exited.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_of(args: &[&str]) -> i32 {
    init(args).status().unwrap().code().unwrap()
}

#[test]
fn exits_with_the_commands_code_or_128_plus_its_signal() {
    assert_eq!(status_of(&["--", "sh", "-c", "exit 7"]), 7);
    assert_eq!(status_of(&["sh", "-c", "exit 0"]), 0);
    assert_eq!(status_of(&["--", "sh", "-c", "kill -KILL $$"]), 128 + 9);
    assert_eq!(status_of(&["--", "/nonexistent/command"]), 127);
    assert_eq!(status_of(&[]), 2);
}

#[test]
fn forwards_signals_to_the_command() {
    let child = init(&[
        "--",
        "sh",
        "-c",
        "trap 'exit 42' TERM; echo ready; while true; do sleep 0.05; done",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut child = Reaped(child);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(42));
}

/// Children of `pid` as (pid, state) from /proc.
fn children(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": the fields after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|f| f.parse::<u32>().ok()) == Some(pid) {
            out.push((p, fields[0].chars().next().unwrap_or('?')));
        }
    }
    out
}

#[test]
fn reaps_orphans_it_inherits() {
    // The command orphans a grandchild (its subshell exits at once), which then re-parents
    // to berth-init and exits while the command still runs.
    let child = init(&["--", "sh", "-c", "(sh -c 'sleep 0.3; exit 3' &); sleep 2"])
        .spawn()
        .unwrap();
    let child = Reaped(child);
    let pid = child.0.id();
    let start = Instant::now();
    let mut saw_orphan = false;
    while start.elapsed() < Duration::from_millis(250) {
        saw_orphan |= children(pid).len() >= 2;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saw_orphan, "the orphan was never re-parented to berth-init");
    std::thread::sleep(Duration::from_millis(700));
    let left = children(pid);
    assert!(
        left.iter().all(|(_, state)| *state != 'Z'),
        "zombies left under berth-init: {left:?}"
    );
    assert_eq!(
        left.len(),
        1,
        "only the command (sleep 2) remains: {left:?}"
    );
    let mut child = child;
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
}
