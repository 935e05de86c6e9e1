//! OCI hooks run through busybox sh: order, argv[0], stdin state, exact env, timeout, failure.

mod process_support;

use std::path::Path;
use std::time::{Duration, Instant};

use berth_runtime::process::hooks::{self, HookError};
use oci_spec::runtime::{Hook, HookBuilder};
use process_support::busybox;

/// A hook running `script` with busybox's `sh` applet (chosen by argv[0] = "sh").
fn sh_hook(script: &str, env: &[&str], timeout: Option<i64>) -> Hook {
    let mut b = HookBuilder::default()
        .path(busybox())
        .args(vec!["sh".to_string(), "-c".to_string(), script.to_string()])
        .env(env.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build().unwrap()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-process-hooks-")
        .tempdir()
        .unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn hooks_run_in_order_with_state_on_stdin_and_exactly_their_env() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let state = br#"{"ociVersion":"1.2.0","id":"berth-process-hooks","status":"creating","pid":42,"bundle":"/b"}"#;
    let list = vec![
        sh_hook(&format!("echo first >> {}", log.display()), &[], None),
        sh_hook(
            &format!(
                "cat > {0}.stdin; env > {0}.env; echo second >> {0}",
                log.display()
            ),
            &["FOO=bar baz", "EMPTY="],
            Some(5),
        ),
        sh_hook(&format!("echo third >> {}", log.display()), &[], Some(5)),
    ];
    hooks::run(&list, state).unwrap();
    assert_eq!(read(&log), "first\nsecond\nthird\n");
    assert_eq!(read(&dir.path().join("log.stdin")).as_bytes(), state);
    let env = read(&dir.path().join("log.env"));
    assert!(env.lines().any(|l| l == "FOO=bar baz"), "{env}");
    assert!(env.lines().any(|l| l == "EMPTY="), "{env}");
    // Nothing leaks from the runtime's own environment (cargo sets CARGO_* for tests).
    assert!(
        !env.lines()
            .any(|l| l.starts_with("CARGO") || l.starts_with("HOME=")),
        "{env}"
    );
}

#[test]
fn argv0_is_args0() {
    let dir = tempdir();
    let out = dir.path().join("argv0");
    // busybox picks its applet from argv[0]: `echo` only runs if args[0] reached argv[0].
    let hook = HookBuilder::default()
        .path(busybox())
        .args(vec![
            "sh".into(),
            "-c".into(),
            format!("echo \"$0\" > {}", out.display()),
            "my-name".into(),
        ])
        .build()
        .unwrap();
    hooks::run(&[hook], b"{}").unwrap();
    assert_eq!(read(&out), "my-name\n");
}

#[test]
fn failing_hook_stops_the_sequence_and_reports_path_status_and_stderr() {
    let dir = tempdir();
    let marker = dir.path().join("never");
    let list = vec![
        sh_hook("echo boom: disk on fire >&2; exit 3", &[], None),
        sh_hook(&format!("touch {}", marker.display()), &[], None),
    ];
    let err = hooks::run(&list, b"{}").unwrap_err();
    assert!(
        matches!(&err, HookError::Failed { status, .. } if status.code() == Some(3)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "hook {} failed (exit status: 3); stderr: boom: disk on fire",
            busybox()
        )
    );
    assert!(!marker.exists(), "the hook after a failing one ran");
}

#[test]
fn slow_hook_is_killed_at_its_timeout() {
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    // The sleep is a child of the hook (no exec) holding its stderr: it must die too.
    let hook = sh_hook(
        &format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
        &[],
        Some(1),
    );
    let started = Instant::now();
    let err = hooks::run(&[hook], b"{}").unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "hook {} did not finish within its 1s timeout and was killed",
            busybox()
        )
    );
    // What the hook started is gone too (killed with its process group; reaped by init).
    let pid = read(&pidfile).trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(2);
    // Gone, or a zombie waiting for whichever reaper inherited it.
    let alive = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    };
    while alive(&pid) {
        assert!(Instant::now() < deadline, "hook child {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn huge_stderr_is_capped_and_does_not_block() {
    let hook = sh_hook(
        "i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789 >&2; i=$((i+1)); done; exit 1",
        &[],
        Some(10),
    );
    let err = hooks::run(&[hook], b"{}").unwrap_err().to_string();
    assert!(
        err.ends_with("[truncated]"),
        "{}",
        &err[err.len().saturating_sub(100)..]
    );
    assert!(err.len() < 4096 + 200, "{}", err.len());
}

#[test]
fn invalid_hooks_are_named() {
    let zero = sh_hook("true", &[], Some(0));
    assert_eq!(
        hooks::run(&[zero], b"{}").unwrap_err().to_string(),
        format!(
            "hook {}: timeout must be a positive number of seconds, got 0",
            busybox()
        )
    );
    let bad_env = sh_hook("true", &["NOEQUALS"], None);
    assert_eq!(
        hooks::run(&[bad_env], b"{}").unwrap_err().to_string(),
        format!(
            "hook {}: env entry \"NOEQUALS\" is not KEY=VALUE",
            busybox()
        )
    );
    let relative = HookBuilder::default().path("bin/true").build().unwrap();
    assert_eq!(
        hooks::run(&[relative], b"{}").unwrap_err().to_string(),
        "hook bin/true: the path must be absolute"
    );
    let missing = HookBuilder::default()
        .path("/nonexistent/berth-hook")
        .build()
        .unwrap();
    let err = hooks::run(&[missing], b"{}").unwrap_err().to_string();
    assert!(
        err.starts_with("hook /nonexistent/berth-hook: starting it: "),
        "{err}"
    );
}
