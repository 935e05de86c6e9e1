//! The container lifecycle through the engine alone (no HTTP): real shims, namespaces,
//! overlay mounts and cgroups, as root.

mod lifecycle_support;

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_engine::containers::{ContainerError, Status, WaitCondition};
use lifecycle_support::TestEngine;

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

#[test]
fn runs_to_completion_logs_and_is_removed_without_a_trace() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(&["sh", "-c", "echo out; echo err >&2; exit 5"], |_| {});
    let container = e.containers.get(&id).unwrap();
    assert_eq!(container.snapshot().state.status, Status::Created);
    let rootfs = e.paths.rootfs(&id);
    assert!(rootfs.join("bin/busybox").is_file(), "rootfs is mounted");
    for file in ["hosts", "hostname", "resolv.conf"] {
        assert!(e.paths.container(&id).join(file).is_file(), "{file}");
    }
    e.start_container(&id).unwrap();
    let outcome = container
        .wait_blocking(WaitCondition::NotRunning, WAIT)
        .unwrap();
    assert_eq!(outcome.status_code, 5);
    let state = container.snapshot().state;
    assert_eq!(
        (state.status, state.exit_code, state.pid),
        (Status::Exited, 5, 0)
    );
    assert_ne!(state.finished_at, "0001-01-01T00:00:00Z");
    let log = std::fs::read_to_string(e.paths.log(&id)).unwrap();
    assert!(log.contains(r#""log":"out\n","stream":"stdout""#), "{log}");
    assert!(log.contains(r#""log":"err\n","stream":"stderr""#), "{log}");
    // An exited container starts again (a new run, a new shim).
    e.start_container(&id).unwrap();
    let again = container
        .wait_blocking(WaitCondition::NotRunning, WAIT)
        .unwrap();
    assert_eq!(again.status_code, 5);
    e.remove_container(&id, false, false).unwrap();
    assert!(!e.paths.container(&id).exists());
    assert!(!e.paths.shim_state(&id).exists());
    assert!(!e.store.snapshots.index().active.contains_key(&id));
    assert!(matches!(
        e.containers.get(&id),
        Err(berth_engine::containers::LookupError::NotFound(_))
    ));
    let actions = t.actions(&id);
    assert_eq!(actions.first().map(String::as_str), Some("create"));
    assert_eq!(actions.last().map(String::as_str), Some("destroy"));
    assert!(
        actions.iter().filter(|a| *a == "die").count() >= 1,
        "{actions:?}"
    );
}

#[test]
fn an_attacher_before_start_sees_all_output() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(&["sh", "-c", "echo first; echo second"], |_| {});
    let (tx, rx) = mpsc::channel();
    let tty = e
        .attach_container(&id, Box::new(move |s| tx.send(s).unwrap()))
        .unwrap();
    assert!(!tty);
    e.start_container(&id).unwrap();
    let mut stream = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    // Docker's multiplexed frames: [stream, 0, 0, 0, len (BE u32)] + payload.
    let mut text = String::new();
    let mut rest = &raw[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        assert_eq!(rest[0], 1, "stdout frame");
        text.push_str(&String::from_utf8_lossy(&rest[8..8 + len]));
        rest = &rest[8 + len..];
    }
    assert_eq!(text, "first\nsecond\n");
}

#[test]
fn a_missing_program_fails_the_start_with_dockers_code() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(&["nope"], |_| {});
    match e.start_container(&id) {
        Err(ContainerError::StartFailed { message, exit_code }) => {
            assert_eq!(exit_code, 127);
            assert!(
                message.contains("exec: \"nope\": executable file not found in $PATH"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let state = e.containers.get(&id).unwrap().snapshot().state;
    assert_eq!((state.status, state.exit_code), (Status::Created, 127));
    assert!(state.error.contains("executable file not found"));
}

#[test]
fn stop_kills_a_container_that_ignores_sigterm_after_the_timeout() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(
        &["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
        |_| {},
    );
    e.start_container(&id).unwrap();
    let pid = e.containers.get(&id).unwrap().snapshot().state.pid;
    assert!(pid > 0);
    let started = Instant::now();
    e.stop_container(&id, Some(1), None).unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    let state = e.containers.get(&id).unwrap().snapshot().state;
    assert_eq!((state.status, state.exit_code), (Status::Exited, 137));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(matches!(
        e.stop_container(&id, Some(1), None),
        Err(ContainerError::AlreadyStopped { .. })
    ));
    let actions = t.actions(&id);
    assert!(
        actions.ends_with(&["kill".into(), "kill".into(), "die".into(), "stop".into()])
            || actions.ends_with(&["kill".into(), "die".into(), "kill".into(), "stop".into()]),
        "{actions:?}"
    );
}

#[test]
fn auto_remove_removes_after_exit_and_wakes_removed_waiters() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(&["sh", "-c", "exit 9"], |b| {
        b.host_config = Some(bollard_stubs::models::HostConfig {
            auto_remove: Some(true),
            ..Default::default()
        });
    });
    let container = e.containers.get(&id).unwrap();
    let (tx, rx) = mpsc::channel();
    container.on_wait(
        WaitCondition::Removed,
        Box::new(move |o| tx.send(o).unwrap()),
    );
    e.start_container(&id).unwrap();
    let outcome = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(outcome.status_code, 9);
    assert!(e.containers.get(&id).is_err());
    assert!(!e.paths.container(&id).exists());
}

#[test]
fn ps_name_filters_are_regular_expressions_like_dockers() {
    let t = TestEngine::new();
    let e = &t.engine;
    for name in ["web-1", "web-2", "db"] {
        let body = bollard_stubs::models::ContainerCreateBody {
            image: Some("busybox".into()),
            cmd: Some(vec!["true".into()]),
            ..Default::default()
        };
        e.create_container(berth_engine::containers::CreateRequest {
            name: Some(name.into()),
            body,
        })
        .unwrap();
    }
    let names = |filter: &str| -> Vec<String> {
        let options = berth_engine::containers::ListOptions {
            all: true,
            filters: berth_engine::containers::ListOptions::parse_filters(&format!(
                r#"{{"name":["{filter}"]}}"#
            ))
            .unwrap(),
            ..Default::default()
        };
        let mut out: Vec<String> = e
            .list_containers(&options)
            .unwrap()
            .into_iter()
            .flat_map(|c| c.names.unwrap_or_default())
            .collect();
        out.sort();
        out
    };
    assert_eq!(names("web"), ["/web-1", "/web-2"]);
    assert_eq!(names("^web-2$"), ["/web-2"]);
    assert_eq!(names("^/db$"), ["/db"]);
    assert_eq!(names("b-[12]"), ["/web-1", "/web-2"]);
    assert!(names("^nope").is_empty());
    let bad = berth_engine::containers::ListOptions {
        all: true,
        filters: berth_engine::containers::ListOptions::parse_filters(r#"{"name":["web("]}"#)
            .unwrap(),
        ..Default::default()
    };
    assert!(matches!(
        e.list_containers(&bad),
        Err(ContainerError::BadFilter { .. })
    ));
}
