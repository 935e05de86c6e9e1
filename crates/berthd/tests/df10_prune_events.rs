//! Every prune publishes dockerd's `prune` event for its type — no actor, the bytes freed
//! in `reclaimed` — seen by `docker events` and `GET /events`.

mod common;
mod df10_support;

use common::Daemon;
use df10_support::api;
use serde_json::Value;

/// The prune events since `since` (Unix seconds), as `docker events` replays them.
fn prune_events(d: &Daemon, since: u64) -> Vec<Value> {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    d.ok(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        "event=prune",
        "--format",
        "{{json .}}",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
    .collect()
}

fn reclaimed_of(events: &[Value], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["Type"] == kind)
        .inspect(|e| {
            assert_eq!(e["Action"], "prune", "{e}");
            assert_eq!(e["Actor"]["ID"], "", "{e}");
        })
        .map(|e| {
            e["Actor"]["Attributes"]["reclaimed"]
                .as_str()
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

#[test]
fn prunes_publish_prune_events_with_reclaimed_bytes() {
    let d = Daemon::start();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let suffix = std::process::id();
    let vol = format!("df10-prune-{suffix}");
    let net = format!("df10-net-{suffix}");
    d.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "df10-prunee",
        "-v",
        &format!("{vol}:/data"),
        "busybox",
        "sh",
        "-c",
        "head -c 2048 /dev/zero > /data/f && head -c 700 /dev/zero > /rw",
    ]);
    d.ok(&["network", "create", &net]);

    let (status, containers) = api(&d, "POST", "/v1.41/containers/prune");
    assert_eq!(status, 200, "{containers}");
    let freed = containers["SpaceReclaimed"]
        .as_u64()
        .expect("SpaceReclaimed");
    assert!(freed >= 700, "{containers}");
    let (status, volumes) = api(&d, "POST", "/v1.41/volumes/prune");
    assert_eq!(status, 200, "{volumes}");
    assert_eq!(volumes["SpaceReclaimed"], 2048, "{volumes}");
    let (status, networks) = api(&d, "POST", "/v1.41/networks/prune");
    assert_eq!(status, 200, "{networks}");
    assert_eq!(networks["NetworksDeleted"], serde_json::json!([net]));
    let (status, images) = api(&d, "POST", "/v1.41/images/prune");
    assert_eq!(status, 200, "{images}");
    let (status, cache) = api(&d, "POST", "/v1.41/build/prune");
    assert_eq!(status, 200, "{cache}");

    let events = prune_events(&d, since);
    assert_eq!(
        reclaimed_of(&events, "container"),
        [freed.to_string()],
        "{events:?}"
    );
    assert_eq!(reclaimed_of(&events, "volume"), ["2048"], "{events:?}");
    assert_eq!(reclaimed_of(&events, "network"), ["0"], "{events:?}");
    let image_freed = images["SpaceReclaimed"].as_u64().unwrap_or(0).to_string();
    assert_eq!(reclaimed_of(&events, "image"), [image_freed], "{events:?}");
    let cache_freed = cache["SpaceReclaimed"].as_u64().unwrap_or(0).to_string();
    assert_eq!(
        reclaimed_of(&events, "builder"),
        [cache_freed],
        "{events:?}"
    );
}

/// A live `GET /events` subscriber sees the event as the prune happens (not only replays).
#[test]
fn a_live_events_stream_sees_container_prune() {
    let d = Daemon::start();
    let mut watcher = d
        .docker_cmd(&[
            "events",
            "--filter",
            "type=container",
            "--filter",
            "event=prune",
            "--format",
            "{{json .}}",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("docker events");
    let guard = KillOnDrop(&mut watcher);
    // The subscription is made once the CLI connected; give it that moment.
    std::thread::sleep(std::time::Duration::from_millis(500));
    d.ok(&["container", "prune", "-f"]);
    let stdout = guard.0.stdout.take().expect("events stdout");
    let line = std::thread::spawn(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !line.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "no prune event within 10s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(guard);
    let line = line.join().unwrap().expect("read event");
    let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(event["Type"], "container");
    assert_eq!(event["Action"], "prune");
    assert_eq!(event["Actor"]["Attributes"]["reclaimed"], "0", "{event}");
}

/// Stops the `docker events` it holds, even when the test fails.
struct KillOnDrop<'c>(&'c mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
