//! Live restore through the real docker CLI: `kill -9` of berthd while containers run, then a
//! new berthd on the same state. Running containers kept running and their logs kept flowing
//! while no daemon was there; `logs -f`, `exec`, `wait` and `stop` work on them; the exit code
//! of one that ended meanwhile is known; one whose policy is `always` runs again.

mod common;
mod live5_fixture;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use live5_fixture::CrashDaemon;

/// Polls `probe` until it returns `Some`, failing with `what` after a generous deadline.
fn eventually<T>(d: &CrashDaemon, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; berthd log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The numbers of the `tick-N` lines in `logs`, in order.
fn ticks(logs: &str) -> Vec<u32> {
    logs.lines()
        .filter_map(|l| l.strip_prefix("tick-"))
        .map(|n| n.parse().unwrap_or_else(|e| panic!("{n:?}: {e}")))
        .collect()
}

fn assert_no_gaps(ticks: &[u32]) {
    for (i, n) in ticks.iter().enumerate() {
        assert_eq!(*n as usize, i, "a log line went missing: {ticks:?}");
    }
}

#[test]
fn kill_9_of_berthd_keeps_containers_and_their_logs_and_all_commands_work() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    let ticker = "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done";
    d.ok(&[
        "run", "-d", "--name", "ticker", "busybox", "sh", "-c", ticker,
    ]);
    d.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "300"]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "ender",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 7",
    ]);
    let always_pid = {
        d.ok(&[
            "run",
            "-d",
            "--name",
            "comeback",
            "--restart",
            "always",
            "busybox",
            "sh",
            "-c",
            "sleep 1; exit 3",
        ]);
        d.ok(&["inspect", "-f", "{{.State.Pid}}", "comeback"])
    };
    let before = eventually(&d, "a few ticks", || {
        let t = ticks(&d.ok(&["logs", "ticker"]));
        (t.len() >= 3).then_some(t)
    });

    d.kill9();
    // No daemon: "ender" and "comeback" end, "ticker" keeps writing.
    std::thread::sleep(Duration::from_millis(2000));
    d.start(None);

    // The ticker ran on: its log holds every line, those written while berthd was away too.
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "ticker"]),
        "running"
    );
    let after = ticks(&d.ok(&["logs", "ticker"]));
    assert_no_gaps(&after);
    assert!(
        after.len() >= before.len() + 10,
        "the log did not grow while berthd was down: {} then {} lines",
        before.len(),
        after.len()
    );
    // `logs -f` follows the restored container: lines newer than those already read arrive.
    let mut follow = d
        .docker_cmd(&["logs", "-f", "--tail", "0", "ticker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker logs -f");
    let mut stdout = follow.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    while ticks(&String::from_utf8_lossy(&seen)).len() < 3 {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(e) => panic!("logs -f stalled or ended ({e}): {seen:?}"),
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let followed = ticks(&String::from_utf8_lossy(&seen));
    assert!(
        followed[0] as usize >= after.len().saturating_sub(1),
        "logs -f --tail 0 replayed old lines: {followed:?} after {}",
        after.len()
    );

    // The one that ended meanwhile: its exit code is known.
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "ender"
        ]),
        "exited 7"
    );
    assert_eq!(d.ok(&["wait", "ender"]), "7");
    // The `always` one runs again (a new process) and counts the restart.
    eventually(&d, "comeback to run again", || {
        let state = d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Pid}}",
            "comeback",
        ]);
        (state.starts_with("running ") && !state.ends_with(&format!(" {always_pid}"))).then_some(())
    });
    let restarts: u32 = d
        .ok(&["inspect", "-f", "{{.RestartCount}}", "comeback"])
        .parse()
        .expect("RestartCount");
    assert!(restarts >= 1, "RestartCount {restarts}");

    // exec, wait and stop on a container started by the previous daemon.
    assert_eq!(d.ok(&["exec", "sleeper", "echo", "inside"]), "inside");
    let ps = d.ok(&["ps", "--format", "{{.Names}}"]);
    for name in ["ticker", "sleeper", "comeback"] {
        assert!(
            ps.lines().any(|l| l == name),
            "{name} missing from ps:\n{ps}"
        );
    }
    let wait = d
        .docker_cmd(&["wait", "sleeper"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker wait");
    // Give `wait` time to be waiting before the container ends.
    std::thread::sleep(Duration::from_millis(500));
    d.ok(&["stop", "-t", "1", "sleeper"]);
    let waited = wait.wait_with_output().expect("docker wait");
    assert!(waited.status.success(), "{waited:?}");
    assert_eq!(String::from_utf8_lossy(&waited.stdout).trim(), "137");

    d.ok(&["rm", "-f", "ticker", "sleeper", "ender", "comeback"]);
    assert!(d.shim_pids().is_empty(), "shims left: {:?}", d.shim_pids());
}

#[test]
fn a_restart_pending_at_the_kill_9_happens_after_the_next_start() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    // Fails at once, four times: the back-off grows to 1.6 s; the fifth run stays up.
    let counter = tempfile::tempdir().expect("counter dir");
    let script = "n=$(cat /c/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /c/n; \
                  [ $n -ge 5 ] && exec sleep 600; exit 1";
    d.ok(&[
        "run",
        "-d",
        "--name",
        "flappy",
        "--restart",
        "unless-stopped",
        "-v",
        &format!("{}:/c", counter.path().display()),
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    // Killed while it waits out its fourth back-off (800 ms after the 4th failure).
    eventually(&d, "the fourth failure", || {
        let state = d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            "flappy",
        ]);
        (state == "restarting 4").then_some(())
    });
    d.kill9();
    d.start(None);
    // Not stuck in `restarting`: the policy starts it again, and the run that stays up runs.
    eventually(&d, "flappy running again", || {
        let state = d.ok(&["inspect", "-f", "{{.State.Status}}", "flappy"]);
        assert_ne!(
            state, "restarting",
            "a restart left pending by the dead daemon"
        );
        (state == "running").then_some(())
    });
    assert_eq!(
        std::fs::read_to_string(counter.path().join("n"))
            .expect("counter")
            .trim(),
        "5"
    );
    d.ok(&["rm", "-f", "flappy"]);
}
