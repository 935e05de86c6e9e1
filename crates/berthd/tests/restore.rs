//! berthd restarts without losing containers: running ones stay running and watched, ones
//! that exited while it was down get their exit status, rootfs mounts come back.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;

#[test]
fn containers_survive_a_daemon_restart() {
    let d = Daemon::start();
    d.ok(&["run", "-d", "--name", "stays", "busybox", "sleep", "60"]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "ends",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 4",
    ]);
    d.ok(&["create", "--name", "fresh", "busybox", "true"]);
    let d = d.restart_with(|d| {
        // While the daemon is away: "ends" finishes, and a rootfs mount is lost.
        std::thread::sleep(Duration::from_millis(1500));
        let fresh = d.ok_offline_id("fresh");
        let rootfs = d
            .data_root()
            .join("containers")
            .join(&fresh)
            .join("bundle/rootfs");
        rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::empty())
            .expect("unmount fresh's rootfs");
    });
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "stays"]),
        "running"
    );
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "ends"
        ]),
        "exited 4"
    );
    // The re-mounted rootfs runs.
    d.ok(&["start", "fresh"]);
    assert_eq!(d.ok(&["wait", "fresh"]), "0");
    // The restored watch still sees the exit of a container started before the restart.
    d.ok(&["kill", "stays"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.ok(&["inspect", "-f", "{{.State.Status}}", "stays"]) != "exited" {
        assert!(
            Instant::now() < deadline,
            "the exit of 'stays' was not seen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "stays"]),
        "137"
    );
}
