//! Docker's restart back-off, measured from the events: the delay between a `die` and the
//! next `start` doubles from 100 ms while runs are short, and starts over at 100 ms after a
//! run of 10 s or more.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;

/// The container's `(action, time in ns)` events so far.
fn events(d: &Daemon, name: &str) -> Vec<(String, i128)> {
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
        "--format",
        "{{.Action}} {{.TimeNano}}",
    ])
    .lines()
    .filter_map(|l| {
        let (action, nanos) = l.split_once(' ')?;
        Some((action.to_string(), nanos.parse().ok()?))
    })
    .collect()
}

/// The delays between each `die` and the `start` after it.
fn restart_gaps(events: &[(String, i128)]) -> Vec<Duration> {
    let mut gaps = Vec::new();
    let mut died_at = None;
    for (action, at) in events {
        match action.as_str() {
            "die" => died_at = Some(*at),
            "start" => {
                if let Some(died) = died_at.take() {
                    gaps.push(Duration::from_nanos((at - died) as u64));
                }
            }
            _ => {}
        }
    }
    gaps
}

#[test]
fn back_off_doubles_and_resets_after_ten_seconds_of_uptime() {
    let d = Daemon::start();
    let counter = tempfile::tempdir().expect("counter dir");
    let name = format!("live5-backoff-{}", std::process::id());
    // Runs 1–5 fail at once, run 6 lasts 11 s, run 7 fails at once, run 8 stays up.
    let script = "n=$(cat /c/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /c/n; \
                  [ $n -eq 6 ] && sleep 11; [ $n -ge 8 ] && exec sleep 600; exit 1";
    d.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--restart",
        "always",
        "-v",
        &format!("{}:/c", counter.path().display()),
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let gaps = loop {
        let gaps = restart_gaps(&events(&d, &name));
        if gaps.len() >= 7 {
            break gaps;
        }
        assert!(
            Instant::now() < deadline,
            "7 restarts did not come: {gaps:?}; log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let ms = |n| Duration::from_millis(n);
    // Each wait is at least its back-off: 100, 200, 400, 800, 1600 ms.
    for (i, nominal) in [100, 200, 400, 800, 1600].into_iter().enumerate() {
        assert!(gaps[i] >= ms(nominal), "restart {}: {gaps:?}", i + 1);
    }
    assert!(
        gaps[4] > gaps[3] && gaps[3] > gaps[2],
        "no doubling: {gaps:?}"
    );
    // After the 11 s run the back-off starts over (3.2 s otherwise), then doubles again.
    assert!(
        gaps[5] < ms(1600),
        "no reset after 10 s of uptime: {gaps:?}"
    );
    assert!(gaps[6] >= ms(200), "{gaps:?}");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            &name
        ]),
        "running 7"
    );
    d.ok(&["rm", "-f", &name]);
}
