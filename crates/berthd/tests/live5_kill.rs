//! `docker kill -s SIG` and restart policies, as Docker decides: a kill with SIGKILL or the
//! container's stop signal ends it for good; another signal (a reload, say) leaves the
//! policy in force when a stop signal is configured.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;

/// PID 1 ignores signals it has no handler for: both are trapped.
const TRAPS: &str =
    "trap 'exit 5' HUP; trap 'exit 1' TERM; echo ready; while true; do sleep 0.1; done";

fn state(d: &Daemon, name: &str) -> String {
    d.ok(&["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name])
}

fn wait_for(d: &Daemon, name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while state(d, name) != want {
        assert!(
            Instant::now() < deadline,
            "{name}: {} instead of {want}; log:\n{}",
            state(d, name),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the `runs`-th run of `name` to have set its traps.
fn wait_ready(d: &Daemon, name: &str, runs: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while d.ok(&["logs", name]).matches("ready").count() < runs {
        assert!(Instant::now() < deadline, "{name} never got ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_with_another_signal_than_the_stop_signal_keeps_the_policy() {
    let d = Daemon::start();
    let pid = std::process::id();
    let (reloads, plain) = (format!("live5-reload-{pid}"), format!("live5-plain-{pid}"));
    d.ok(&[
        "run",
        "-d",
        "--name",
        &reloads,
        "--restart",
        "always",
        "--stop-signal",
        "TERM",
        "busybox",
        "sh",
        "-c",
        TRAPS,
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        &plain,
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        TRAPS,
    ]);
    wait_ready(&d, &reloads, 1);
    wait_ready(&d, &plain, 1);
    // HUP is not the stop signal: the exit it causes is restarted.
    d.ok(&["kill", "-s", "HUP", &reloads]);
    wait_for(&d, &reloads, "running 1");
    // No stop signal configured: any kill ends it for good, as in Docker.
    d.ok(&["kill", "-s", "HUP", &plain]);
    wait_for(&d, &plain, "exited 0");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state(&d, &plain), "exited 0");
    // The stop signal itself (and SIGKILL) ends it for good.
    wait_ready(&d, &reloads, 2);
    d.ok(&["kill", "-s", "TERM", &reloads]);
    wait_for(&d, &reloads, "exited 1");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state(&d, &reloads), "exited 1");
    d.ok(&["rm", "-f", &reloads, &plain]);
}
