//! Health checks through the real docker CLI: failures within `--health-start-period` do not
//! count (the container goes from `starting` to `healthy`, never `unhealthy`), and a probe
//! that outlives `--health-timeout` is killed and counted as a failure.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;

fn health(d: &Daemon, name: &str) -> serde_json::Value {
    let json = d.ok(&["inspect", "-f", "{{json .State.Health}}", name]);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json:?}: {e}"))
}

fn eventually<T>(d: &Daemon, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
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

/// The `health_status: …` actions of `name` so far.
fn health_events(d: &Daemon, name: &str) -> Vec<String> {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 1;
    d.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &until.to_string(),
        "--filter",
        &format!("container={name}"),
        "--filter",
        "event=health_status",
        "--format",
        "{{.Action}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn start_period_failures_do_not_count_and_timeouts_do() {
    let d = Daemon::start();
    let pid = std::process::id();
    let (slow, hung) = (format!("live5-slow-{pid}"), format!("live5-hung-{pid}"));
    // Ready after ~1.5 s; with one retry and no start period it would be unhealthy at once.
    d.ok(&[
        "run",
        "-d",
        "--name",
        &slow,
        "--health-cmd",
        "test -f /tmp/ready",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "--health-start-period",
        "5s",
        "busybox",
        "sh",
        "-c",
        "sleep 1.5; touch /tmp/ready; exec sleep 600",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        &hung,
        "--health-cmd",
        "echo begun; sleep 30",
        "--health-timeout",
        "300ms",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "600",
    ]);
    // Failing probes ran during the start period, and the status stayed `starting`.
    std::thread::sleep(Duration::from_millis(900));
    let early = health(&d, &slow);
    assert_eq!(early["Status"], "starting", "{early}");
    let log = early["Log"].as_array().expect("Log");
    assert!(
        log.iter().any(|r| r["ExitCode"] == 1),
        "no failing probe in the start period: {early}"
    );
    eventually(&d, "the slow starter to turn healthy", || {
        (health(&d, &slow)["Status"] == "healthy").then_some(())
    });
    assert_eq!(health_events(&d, &slow), ["health_status: healthy"]);

    let hung_health = eventually(&d, "the hung probe to turn unhealthy", || {
        let h = health(&d, &hung);
        (h["Status"] == "unhealthy").then_some(h)
    });
    let last = &hung_health["Log"][0];
    assert_eq!(last["ExitCode"], -1, "{hung_health}");
    let output = last["Output"].as_str().unwrap_or("");
    assert!(
        output.starts_with("Health check exceeded timeout (300ms)"),
        "{hung_health}"
    );
    let (start, end) = (
        last["Start"].as_str().unwrap_or(""),
        last["End"].as_str().unwrap_or(""),
    );
    assert!(start < end, "{hung_health}");
    // The killed probes do not pile up inside the container.
    let probes = d.ok(&[
        "exec",
        &hung,
        "sh",
        "-c",
        "ps -o args | grep -c '^sleep 30' || true",
    ]);
    assert!(
        probes.parse::<u32>().unwrap_or(u32::MAX) <= 1,
        "timed-out probes still running: {probes}"
    );
    d.ok(&["rm", "-f", &slow, &hung]);
}
