//! Through the real docker CLI: health that survives a `kill -9` of berthd (and probing that
//! carries on), berthd's SIGTERM leaving containers running, stop semantics (image
//! `STOPSIGNAL`, `--stop-signal`, `--stop-timeout`), `--rm` with a restart policy refused,
//! tmpfs size limits and read-only bind mounts enforced.

mod common;
mod live5_fixture;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::Daemon;
use live5_fixture::CrashDaemon;

/// Polls `probe` until it returns `Some`, failing with `what` after a generous deadline.
fn eventually<T>(log: impl Fn() -> String, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; berthd log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn health(d: &CrashDaemon, name: &str) -> serde_json::Value {
    let json = d.ok(&["inspect", "-f", "{{json .State.Health}}", name]);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json:?}: {e}"))
}

#[test]
fn health_survives_a_kill_9_of_berthd_and_probing_carries_on() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    let probe = ["--health-interval", "300ms", "--health-retries", "2"];
    d.ok(&[
        &[
            "run",
            "-d",
            "--name",
            "sick",
            "--health-cmd",
            "echo probe-out; exit 1",
        ][..],
        &probe,
        &["busybox", "sleep", "300"],
    ]
    .concat());
    d.ok(&[
        &["run", "-d", "--name", "fine", "--health-cmd", "true"][..],
        &probe,
        &["busybox", "sleep", "300"],
    ]
    .concat());
    d.ok(&[
        &["run", "-d", "--name", "ended", "--health-cmd", "true"][..],
        &probe,
        &["busybox", "sleep", "300"],
    ]
    .concat());
    let before = eventually(
        || d.log(),
        "sick unhealthy, fine and ended healthy",
        || {
            let sick = health(&d, "sick");
            (sick["Status"] == "unhealthy"
                && health(&d, "fine")["Status"] == "healthy"
                && health(&d, "ended")["Status"] == "healthy")
                .then_some(sick)
        },
    );
    d.ok(&["stop", "-t", "0", "ended"]);
    d.kill9();
    d.start(None);
    // At once, before any new probe could decide: the saved health, not "starting".
    let after = health(&d, "sick");
    assert_eq!(after["Status"], "unhealthy", "{after}");
    let streak = |h: &serde_json::Value| h["FailingStreak"].as_i64().unwrap_or(-1);
    assert!(streak(&after) >= streak(&before), "{before} then {after}");
    let log = after["Log"].as_array().expect("Log");
    assert!(!log.is_empty(), "{after}");
    let last = &log[log.len() - 1];
    assert_eq!(last["ExitCode"], 1, "{after}");
    assert!(
        last["Output"].as_str().unwrap_or("").contains("probe-out"),
        "{after}"
    );
    assert_eq!(health(&d, "fine")["Status"], "healthy");
    // A container that is not running reads unhealthy, its log kept.
    let ended = health(&d, "ended");
    assert_eq!(ended["Status"], "unhealthy", "{ended}");
    assert!(!ended["Log"].as_array().expect("Log").is_empty(), "{ended}");
    assert_eq!(
        d.ok(&[
            "ps",
            "--filter",
            "health=unhealthy",
            "--format",
            "{{.Names}}"
        ]),
        "sick"
    );
    // Probing resumed on the restored containers.
    let resumed = streak(&after);
    eventually(
        || d.log(),
        "new probes of sick",
        || (streak(&health(&d, "sick")) >= resumed + 2).then_some(()),
    );
    assert_eq!(health(&d, "fine")["Status"], "healthy");
    d.ok(&["rm", "-f", "sick", "fine", "ended"]);
}

/// The pid of container `name`'s process, read from its record (works while berthd is down).
fn recorded_pid(d: &CrashDaemon, id: &str) -> i32 {
    let path = d
        .data_root()
        .join("containers")
        .join(id)
        .join("config.v2.json");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("record")).expect("record JSON");
    record["State"]["Pid"].as_i64().expect("State.Pid") as i32
}

#[test]
fn berthd_sigterm_leaves_containers_running() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    let id = d.ok(&["run", "-d", "--name", "stays", "busybox", "sleep", "300"]);
    let pid = recorded_pid(&d, &id);
    d.terminate();
    // berthd is gone; the container's process and its shim are not.
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the container died with berthd"
    );
    assert_eq!(d.shim_pids().len(), 1);
    d.start(None);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "stays"]),
        format!("running {pid}")
    );
    assert_eq!(d.ok(&["exec", "stays", "echo", "hi"]), "hi");
    d.ok(&["stop", "-t", "1", "stays"]);
    assert_eq!(d.ok(&["wait", "stays"]), "137");
    d.ok(&["rm", "stays"]);
}

/// A script that exits `code` on `signal`.
fn trap_script(signal: &str, code: u8) -> String {
    format!(
        "trap 'echo got-{signal}; exit {code}' {signal}; echo ready; while true; do sleep 0.1; done"
    )
}

fn wait_ready(d: &Daemon, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.ok(&["logs", name]).contains("ready") {
        assert!(Instant::now() < deadline, "{name} never got ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn build_stopsignal_image(d: &Daemon) {
    let context = d.dir.path().join("stopsignal-ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nSTOPSIGNAL SIGUSR2\n",
    )
    .unwrap();
    let mut cmd = d.docker_cmd(&[
        "build",
        "-q",
        "-t",
        "live5-stopsignal",
        &context.to_string_lossy(),
    ]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().expect("docker build");
    assert!(
        out.status.success(),
        "docker build: {}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
}

#[test]
fn stop_sends_the_stop_signal_then_sigkill_after_the_timeout() {
    let d = Daemon::start();
    // --stop-signal.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "usr1",
        "--stop-signal",
        "SIGUSR1",
        "busybox",
        "sh",
        "-c",
        &trap_script("USR1", 7),
    ]);
    wait_ready(&d, "usr1");
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.Config.StopSignal}}", "usr1"]),
        "SIGUSR1"
    );
    d.ok(&["stop", "usr1"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "usr1"]), "7");
    assert!(d.ok(&["logs", "usr1"]).contains("got-USR1"));
    // The image's STOPSIGNAL.
    build_stopsignal_image(&d);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "usr2",
        "live5-stopsignal",
        "sh",
        "-c",
        &trap_script("USR2", 9),
    ]);
    wait_ready(&d, "usr2");
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.Config.StopSignal}}", "usr2"]),
        "SIGUSR2"
    );
    d.ok(&["stop", "usr2"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "usr2"]), "9");
    // The default SIGTERM ignored: SIGKILL after --stop-timeout, not the default 10 s.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "--stop-timeout",
        "1",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    wait_ready(&d, "stubborn");
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.Config.StopTimeout}}", "stubborn"]),
        "1"
    );
    let began = Instant::now();
    d.ok(&["stop", "stubborn"]);
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(6),
        "stop took {took:?}"
    );
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "stubborn"]),
        "137"
    );
    // `stop -t` overrides --stop-timeout.
    d.ok(&["start", "stubborn"]);
    wait_ready(&d, "stubborn");
    let began = Instant::now();
    d.ok(&["stop", "-t", "0", "stubborn"]);
    assert!(
        began.elapsed() < Duration::from_millis(900),
        "{:?}",
        began.elapsed()
    );
    d.ok(&["rm", "usr1", "usr2", "stubborn"]);
}

/// One HTTP/1.1 request on the daemon's socket; the status and the body.
fn api(d: &Daemon, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = std::os::unix::net::UnixStream::connect(d.socket()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: berthd\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read reply");
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn auto_remove_with_a_restart_policy_is_refused() {
    let d = Daemon::start();
    // The docker CLI refuses it before asking ("conflicting options: cannot specify both
    // --restart and --rm" in 28.x, "Conflicting options: --restart and --rm" before).
    let out = d.docker(&["run", "--rm", "--restart=always", "busybox", "true"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--restart and --rm"),
        "{out:?}"
    );
    // The daemon refuses it for any other client: 400 with Docker's message.
    let (status, body) = api(
        &d,
        "POST",
        "/v1.41/containers/create?name=autorm",
        r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2}}}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("can't create 'AutoRemove' container with restart policy"),
        "{body}"
    );
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    // "no" is no restart policy.
    let (status, body) = api(
        &d,
        "POST",
        "/v1.41/containers/create?name=autorm",
        r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"no"}}}"#,
    );
    assert_eq!(status, 201, "{body}");
    d.ok(&["rm", "autorm"]);
}

#[test]
fn tmpfs_size_and_read_only_binds_are_enforced() {
    let d = Daemon::start();
    // Past the size: ENOSPC; the mode as asked.
    let full = d.docker(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t:size=1m,mode=1770",
        "busybox",
        "sh",
        "-c",
        "stat -c %a /t; dd if=/dev/zero of=/t/f bs=1k count=2048",
    ]);
    assert!(!full.status.success(), "{full:?}");
    let out = String::from_utf8_lossy(&full.stdout);
    let err = String::from_utf8_lossy(&full.stderr);
    assert_eq!(out.trim(), "1770", "{out} {err}");
    assert!(err.contains("No space left on device"), "{err}");
    // Within the size it works; --mount type=tmpfs too.
    d.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,destination=/m,tmpfs-size=2097152",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/m/f",
        "bs=1k",
        "count=1024",
    ]);
    let too_big = d.docker(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,destination=/m,tmpfs-size=1048576",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/m/f",
        "bs=1k",
        "count=2048",
    ]);
    assert!(!too_big.status.success(), "{too_big:?}");
    // Bind mounts: rw writes reach the host; ro (both spellings) refuses writes.
    let host = d.dir.path().join("bind-src");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("seen"), "host\n").unwrap();
    let src = host.to_string_lossy().into_owned();
    d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{src}:/b"),
        "busybox",
        "sh",
        "-c",
        "cat /b/seen && echo ctr > /b/made",
    ]);
    assert_eq!(std::fs::read_to_string(host.join("made")).unwrap(), "ctr\n");
    for mount in [
        vec!["-v".to_string(), format!("{src}:/b:ro")],
        vec![
            "--mount".to_string(),
            format!("type=bind,source={src},target=/b,readonly"),
        ],
    ] {
        let args: Vec<&str> = ["run", "--rm"]
            .into_iter()
            .chain(mount.iter().map(String::as_str))
            .chain(["busybox", "sh", "-c", "cat /b/seen && touch /b/nope"])
            .collect();
        let ro = d.docker(&args);
        assert!(!ro.status.success(), "{mount:?}: {ro:?}");
        assert!(
            String::from_utf8_lossy(&ro.stderr).contains("Read-only file system"),
            "{mount:?}: {ro:?}"
        );
        assert_eq!(String::from_utf8_lossy(&ro.stdout), "host\n");
        assert!(!host.join("nope").exists(), "{mount:?}");
    }
}
