//! Restart policies, `docker update` and health checks through the real docker CLI: the
//! policy restarts what it should (and only as often as it should), a stop through the API
//! keeps a container down, berthd's start brings policy containers back, and health checks
//! report starting/healthy/unhealthy in inspect, ps, its filter and events.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;

/// Polls `probe` until it returns `Some`, failing with `what` after a generous deadline.
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

fn inspect(d: &Daemon, format: &str, name: &str) -> String {
    d.ok(&["inspect", "-f", format, name])
}

/// The actions of `name`'s events so far.
fn actions(d: &Daemon, name: &str) -> Vec<String> {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
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
        "--format",
        "{{.Action}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

#[test]
fn on_failure_restarts_exactly_max_times_and_always_until_stopped() {
    let d = Daemon::start();
    let name = format!("health-of-{}", std::process::id());
    d.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--restart",
        "on-failure:3",
        "busybox",
        "sh",
        "-c",
        "exit 1",
    ]);
    eventually(&d, "three restarts, then exited", || {
        let state = inspect(&d, "{{.State.Status}} {{.RestartCount}}", &name);
        (state == "exited 3").then_some(())
    });
    // The next back-off would be 800 ms: wait longer, nothing more may happen.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        inspect(
            &d,
            "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}",
            &name
        ),
        "exited 3 1"
    );
    let seen = actions(&d, &name);
    assert_eq!(count(&seen, "start"), 4, "events: {seen:?}");
    assert_eq!(count(&seen, "die"), 4, "events: {seen:?}");
    assert_eq!(count(&seen, "restart"), 0, "events: {seen:?}");
    assert!(
        d.ok(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Status}}"
        ])
        .starts_with("Exited (1)")
    );

    // `always` restarts after a clean exit; `docker stop` keeps it down.
    let always = format!("health-al-{}", std::process::id());
    d.ok(&[
        "run",
        "-d",
        "--name",
        &always,
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3",
    ]);
    eventually(&d, "two restarts of an always container", || {
        let n: u32 = inspect(&d, "{{.RestartCount}}", &always).parse().ok()?;
        (n >= 2).then_some(())
    });
    d.ok(&["stop", "-t", "1", &always]);
    assert_eq!(inspect(&d, "{{.State.Status}}", &always), "exited");
    let restarts = inspect(&d, "{{.RestartCount}}", &always);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        inspect(&d, "{{.State.Status}} {{.RestartCount}}", &always),
        format!("exited {restarts}")
    );
    // A start by the user resets the count, and the policy is back in force.
    d.ok(&["start", &always]);
    eventually(&d, "the always container restarting again", || {
        let n: u32 = inspect(&d, "{{.RestartCount}}", &always).parse().ok()?;
        (n >= 1).then_some(())
    });
    // rm -f while restarts keep coming: nothing restarts a removed container.
    d.ok(&["rm", "-f", &always]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!d.docker(&["inspect", &always]).status.success());
}

#[test]
fn update_sets_the_restart_policy_and_live_resources() {
    let d = Daemon::start();
    let name = format!("health-up-{}", std::process::id());
    // Exits 3 once /tmp/go exists (and at once after each restart: the file stays).
    d.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 3",
    ]);
    assert_eq!(
        d.ok(&[
            "update",
            "--restart",
            "on-failure:1",
            "--memory",
            "64m",
            "--pids-limit",
            "50",
            &name
        ]),
        name
    );
    assert_eq!(
        inspect(
            &d,
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
            &name
        ),
        format!("on-failure:1 {} 50", 64 << 20)
    );
    let id = inspect(&d, "{{.Id}}", &name);
    let cgroup = |controller: &str, file: &str| {
        let path = format!("/sys/fs/cgroup/{controller}/berth/{id}/{file}");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {path}: {e}"))
            .trim()
            .to_string()
    };
    assert_eq!(
        cgroup("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(cgroup("pids", "pids.max"), "50");
    d.ok(&["exec", &name, "touch", "/tmp/go"]);
    eventually(&d, "one restart by the updated policy", || {
        let state = inspect(&d, "{{.State.Status}} {{.RestartCount}}", &name);
        (state == "exited 1").then_some(())
    });
    assert_eq!(inspect(&d, "{{.State.ExitCode}}", &name), "3");
    // Once --cpus is set, a CFS quota conflicts (Docker's rule), and the record keeps --cpus.
    d.ok(&["update", "--cpus", "1", &name]);
    let out = d.docker(&["update", "--cpu-quota", "50000", &name]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Conflicting options"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(inspect(&d, "{{.HostConfig.NanoCpus}}", &name), "1000000000");
}

#[test]
fn policies_bring_containers_back_when_berthd_starts() {
    let d = Daemon::start();
    let pid = std::process::id();
    let name = |n: &str| format!("health-boot-{n}-{pid}");
    for (n, policy) in [
        ("al", "always"),
        ("us", "unless-stopped"),
        ("usstop", "unless-stopped"),
        ("no", "no"),
    ] {
        d.ok(&[
            "run",
            "-d",
            "--name",
            &name(n),
            "--restart",
            policy,
            "busybox",
            "sleep",
            "600",
        ]);
    }
    d.ok(&["stop", "-t", "0", &name("usstop")]);
    let killed: Vec<String> = ["al", "us", "no"].iter().map(|n| name(n)).collect();
    let d = d.restart_with(|d| {
        // While berthd is away the containers' processes die (as at a host reboot).
        for container in &killed {
            let id = d.ok_offline_id(container);
            let record: serde_json::Value = serde_json::from_slice(
                &std::fs::read(
                    d.data_root()
                        .join("containers")
                        .join(&id)
                        .join("config.v2.json"),
                )
                .expect("record"),
            )
            .expect("record json");
            let pid = record["State"]["Pid"].as_i64().expect("pid") as i32;
            assert!(pid > 0, "{container} has no pid in its record");
            common::signal(pid, rustix::process::Signal::KILL);
        }
        std::thread::sleep(Duration::from_millis(500));
    });
    for n in ["al", "us"] {
        eventually(&d, &format!("{n} running again"), || {
            (inspect(&d, "{{.State.Status}}", &name(n)) == "running").then_some(())
        });
    }
    assert_eq!(inspect(&d, "{{.RestartCount}}", &name("al")), "1");
    assert_eq!(inspect(&d, "{{.State.Status}}", &name("no")), "exited");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(inspect(&d, "{{.State.Status}}", &name("usstop")), "exited");
}

#[test]
fn health_checks_report_healthy_and_unhealthy() {
    let d = Daemon::start();
    let pid = std::process::id();
    let (sick, fine, none) = (
        format!("health-sick-{pid}"),
        format!("health-fine-{pid}"),
        format!("health-none-{pid}"),
    );
    d.ok(&[
        "run",
        "-d",
        "--name",
        &sick,
        "--health-cmd",
        "echo probing; exit 1",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "600",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        &fine,
        "--health-cmd",
        "true",
        "--health-interval",
        "200ms",
        "busybox",
        "sleep",
        "600",
    ]);
    d.ok(&["run", "-d", "--name", &none, "busybox", "sleep", "600"]);
    eventually(&d, "the failing check to turn unhealthy", || {
        (inspect(&d, "{{.State.Health.Status}}", &sick) == "unhealthy").then_some(())
    });
    eventually(&d, "the passing check to turn healthy", || {
        (inspect(&d, "{{.State.Health.Status}}", &fine) == "healthy").then_some(())
    });
    let streak: u32 = inspect(&d, "{{.State.Health.FailingStreak}}", &sick)
        .parse()
        .expect("streak");
    assert!(streak >= 2, "failing streak {streak}");
    let log = inspect(
        &d,
        "{{range .State.Health.Log}}{{.ExitCode}}:{{.Output}}|{{end}}",
        &sick,
    );
    assert!(log.starts_with("1:probing"), "health log {log:?}");
    assert!(
        log.matches('|').count() <= 5,
        "more than 5 results kept: {log:?}"
    );
    assert_eq!(inspect(&d, "{{json .State.Health}}", &none), "null");

    let status = |name: &str| {
        d.ok(&[
            "ps",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Status}}",
        ])
    };
    assert!(status(&sick).ends_with("(unhealthy)"), "{}", status(&sick));
    assert!(status(&fine).ends_with("(healthy)"), "{}", status(&fine));
    let listed = |health: &str| {
        d.ok(&[
            "ps",
            "--filter",
            &format!("health={health}"),
            "--format",
            "{{.Names}}",
        ])
    };
    assert_eq!(listed("unhealthy"), sick);
    assert_eq!(listed("healthy"), fine);
    assert_eq!(listed("none"), none);

    let sick_events = actions(&d, &sick);
    assert_eq!(
        count(&sick_events, "health_status: unhealthy"),
        1,
        "events: {sick_events:?}"
    );
    assert!(actions(&d, &fine).contains(&"health_status: healthy".to_string()));

    // A stopped container is no longer probed; Docker then reports it unhealthy.
    d.ok(&["stop", "-t", "0", &fine]);
    assert_eq!(inspect(&d, "{{.State.Health.Status}}", &fine), "unhealthy");
}

#[test]
fn the_images_healthcheck_applies_unless_disabled() {
    let d = Daemon::start();
    let pid = std::process::id();
    let context = d.dir.path().join("hc-context");
    std::fs::create_dir_all(&context).expect("context dir");
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD exit 1\n",
    )
    .expect("Dockerfile");
    let image = format!("health-hc-image-{pid}");
    // berthd speaks the classic build API.
    let built = d
        .docker_cmd(&["build", "-q", "-t", &image, &context.to_string_lossy()])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("docker build");
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let (checked, disabled) = (format!("health-img-{pid}"), format!("health-off-{pid}"));
    d.ok(&["run", "-d", "--name", &checked, &image, "sleep", "600"]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        &disabled,
        "--no-healthcheck",
        &image,
        "sleep",
        "600",
    ]);
    eventually(&d, "the image's check to turn unhealthy", || {
        (inspect(&d, "{{.State.Health.Status}}", &checked) == "unhealthy").then_some(())
    });
    assert_eq!(
        inspect(&d, "{{index .Config.Healthcheck.Test 0}}", &disabled),
        "NONE"
    );
    assert_eq!(inspect(&d, "{{json .State.Health}}", &disabled), "null");
}
