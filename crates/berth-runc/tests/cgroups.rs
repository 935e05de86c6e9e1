//! Features backed by the cgroup manager: pause/resume, kill --all, ps, events, update,
//! memory OOM and the pids limit.

mod common;

use std::time::Duration;

use common::{Ctr, stderr, stdout};
use serde_json::json;

fn running(args: &[&str]) -> Ctr {
    let c = Ctr::new(args);
    c.create();
    c.ok(&["start", &c.id]);
    c
}

#[test]
fn pause_and_resume_freeze_the_container() {
    let c = running(&["sleep", "30"]);
    c.ok(&["pause", &c.id]);
    assert_eq!(c.status(), "paused");
    let state = std::fs::read_to_string(c.cgroup_dir("freezer").join("freezer.state")).unwrap();
    assert_eq!(state.trim(), "FROZEN");
    assert!(
        !c.runc(&["pause", &c.id]).status.success(),
        "pausing twice must fail"
    );
    c.ok(&["resume", &c.id]);
    assert_eq!(c.status(), "running");
    // delete --force of a paused container works too.
    c.ok(&["pause", &c.id]);
    let pid = c.pid();
    c.ok(&["delete", "--force", &c.id]);
    c.assert_gone(Some(pid));
}

#[test]
fn kill_all_signals_every_process_and_ps_lists_them() {
    let c = running(&["sh", "-c", "sleep 30 & sleep 30 & wait"]);
    std::thread::sleep(Duration::from_millis(300));
    let pids: Vec<i32> = serde_json::from_str(&c.ok(&["ps", "--format", "json", &c.id])).unwrap();
    assert_eq!(pids.len(), 3, "sh + 2 sleeps: {pids:?}");
    assert!(pids.contains(&c.pid()));
    let table = c.ok(&["ps", &c.id]);
    assert!(table.lines().next().unwrap().contains("PID"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    c.ok(&["kill", "--all", &c.id, "KILL"]);
    c.wait_status("stopped");
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "pid {pid} survived kill --all"
        );
    }
}

#[test]
fn events_stats_prints_runcs_stats_event() {
    let c = running(&["sleep", "30"]);
    let out = c.ok(&["events", "--stats", &c.id]);
    let event: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(event["type"], "stats");
    assert_eq!(event["id"], c.id.as_str());
    assert!(
        event["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{event}"
    );
    assert!(
        event["data"]["pids"]["current"].as_u64().unwrap() >= 1,
        "{event}"
    );
}

#[test]
fn memory_limit_oom_kills_and_is_reported_as_an_event() {
    let mut c = Ctr::new(&["sh", "-c", "sleep 0.5; tail /dev/zero"]);
    c.edit(|s| {
        s["linux"]["resources"]["memory"] =
            json!({"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024})
    });
    c.create();
    let mut events = c.cmd(&["events", "--interval", "100ms", &c.id]);
    let log = tempfile::NamedTempFile::new().unwrap();
    events.stdout(log.reopen().unwrap());
    let mut child = events.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    c.ok(&["start", &c.id]);
    c.wait_status("stopped");
    let _ = child.wait();
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        text.lines().any(|l| l.contains("\"type\":\"oom\"")),
        "no oom event in: {}",
        &text[..text.len().min(500)]
    );
}

#[test]
fn pids_limit_stops_fork_bombs() {
    let mut c = Ctr::new(&["sleep", "30"]);
    c.edit(|s| s["linux"]["resources"]["pids"] = json!({"limit": 4}));
    c.create();
    c.ok(&["start", &c.id]);
    c.ok(&[
        "exec",
        "--detach",
        &c.id,
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let pids: Vec<i32> = serde_json::from_str(&c.ok(&["ps", "--format", "json", &c.id])).unwrap();
    assert!(
        (2..=4).contains(&pids.len()),
        "pids limit 4 not enforced: {pids:?}"
    );
    let events = std::fs::read_to_string(c.cgroup_dir("pids").join("pids.events")).unwrap();
    let refused: u64 = events.trim().strip_prefix("max ").unwrap().parse().unwrap();
    assert!(refused > 0, "no fork was refused: {events}");
}

#[test]
fn update_changes_limits_from_flags_and_file() {
    let c = running(&["sleep", "30"]);
    c.ok(&["update", "--memory", "64m", "--pids-limit", "20", &c.id]);
    let limit =
        std::fs::read_to_string(c.cgroup_dir("memory").join("memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), (64u64 << 20).to_string());
    let pids = std::fs::read_to_string(c.cgroup_dir("pids").join("pids.max")).unwrap();
    assert_eq!(pids.trim(), "20");
    let file = c.root.path().join("resources.json");
    std::fs::write(&file, json!({"cpu": {"shares": 512}}).to_string()).unwrap();
    c.ok(&["update", "-r", file.to_str().unwrap(), &c.id]);
    let shares = std::fs::read_to_string(c.cgroup_dir("cpu").join("cpu.shares")).unwrap();
    assert_eq!(shares.trim(), "512");
}

#[test]
fn init_is_in_its_cgroup_and_its_cgroup_namespace_is_rooted_there() {
    // The default spec asks for a cgroup namespace: inside, every hierarchy shows `/`.
    let c = Ctr::new(&["sleep", "30"]);
    c.create();
    let pid = c.pid();
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for controller in ["memory", "pids", "cpu", "freezer"] {
        let dir = c.cgroup_dir(controller);
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "init {pid} not in {}: {host_view}",
            dir.display()
        );
    }
    c.ok(&["start", &c.id]);
    let out = c.runc(&["exec", &c.id, "cat", "/proc/self/cgroup"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    for line in text.lines() {
        assert!(
            line.ends_with(":/"),
            "cgroup namespace root is not the container's: {text}"
        );
    }
}
