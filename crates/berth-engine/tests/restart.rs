//! Restart policies through the engine alone: a removal or the daemon's shutdown cancels a
//! restart that waits out its back-off, and a kill through the API is never undone.

mod lifecycle_support;

use std::time::{Duration, Instant};

use berth_engine::containers::Status;
use bollard_stubs::models::{RestartPolicy, RestartPolicyNameEnum};
use lifecycle_support::TestEngine;

fn policy(
    name: RestartPolicyNameEnum,
) -> impl FnOnce(&mut bollard_stubs::models::ContainerCreateBody) {
    move |body| {
        body.host_config = Some(bollard_stubs::models::HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(name),
                maximum_retry_count: None,
            }),
            ..Default::default()
        });
    }
}

/// Polls until `test` holds (generous deadline; never asserts on timings).
fn until(what: &str, mut test: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !test() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn removal_cancels_a_pending_restart() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(
        &["sh", "-c", "exit 1"],
        policy(RestartPolicyNameEnum::ON_FAILURE),
    );
    let container = e.containers.get(&id).unwrap();
    e.start_container(&id).unwrap();
    // After four restarts the back-off is 1.6 s: the container sits in `restarting`.
    until("four restarts", || container.snapshot().restart_count >= 4);
    until("restarting", || {
        container.snapshot().state.status == Status::Restarting
    });
    e.remove_container(&id, true, false).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(e.containers.get(&id).is_err());
    let actions = t.actions(&id);
    let destroy = actions
        .iter()
        .position(|a| a == "destroy")
        .expect("destroy");
    assert_eq!(
        destroy,
        actions.len() - 1,
        "events after destroy: {actions:?}"
    );
}

#[test]
fn kill_and_shutdown_stop_the_policy() {
    let t = TestEngine::new();
    let e = &t.engine;
    let killed = t.create(&["sleep", "600"], policy(RestartPolicyNameEnum::ALWAYS));
    e.start_container(&killed).unwrap();
    e.kill_container(&killed, "KILL").unwrap();
    let container = e.containers.get(&killed).unwrap();
    until("the kill recorded", || {
        container.snapshot().state.status == Status::Exited
    });
    std::thread::sleep(Duration::from_secs(1));
    let record = container.snapshot();
    assert_eq!(record.state.status, Status::Exited);
    assert_eq!(record.restart_count, 0);
    assert!(record.state.manually_stopped);

    let looping = t.create(
        &["sh", "-c", "exit 0"],
        policy(RestartPolicyNameEnum::ALWAYS),
    );
    let container = e.containers.get(&looping).unwrap();
    e.start_container(&looping).unwrap();
    until("four restarts", || container.snapshot().restart_count >= 4);
    until("restarting", || {
        container.snapshot().state.status == Status::Restarting
    });
    e.cancel_all_restarts();
    let record = container.snapshot();
    assert_eq!(record.state.status, Status::Exited);
    let starts = t.actions(&looping).iter().filter(|a| *a == "start").count();
    std::thread::sleep(Duration::from_secs(3));
    let later = t.actions(&looping).iter().filter(|a| *a == "start").count();
    assert_eq!(starts, later, "a restart after the shutdown");
    // Not stopped by the user: the next daemon start would start it again.
    assert!(!record.state.manually_stopped);
}

#[test]
fn a_restart_pending_when_the_daemon_died_happens_at_its_next_start() {
    let t = TestEngine::new();
    let e = &t.engine;
    let id = t.create(
        &["sleep", "600"],
        policy(RestartPolicyNameEnum::UNLESS_STOPPED),
    );
    let container = e.containers.get(&id).unwrap();
    {
        // What a daemon killed during the back-off leaves on disk.
        let mut record = container.lock();
        record.state.status = Status::Restarting;
        record.state.exit_code = 1;
        record.restart_count = 2;
        record.save(&container.dir).unwrap();
    }
    e.restore();
    until("started by its policy", || {
        container.snapshot().state.status == Status::Running
    });
    assert_eq!(container.snapshot().restart_count, 0);
    until("the start event", || {
        t.actions(&id).contains(&"start".to_string())
    });
}
