//! `docker container prune`: stopped containers go (with their rootfs mounts), running ones
//! stay, and the `label`, `label!` and `until` filters choose as dockerd's do.

mod common;

use common::Daemon;

fn names(d: &Daemon) -> Vec<String> {
    let mut n: Vec<String> = d
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .lines()
        .map(str::to_owned)
        .collect();
    n.sort();
    n
}

#[test]
fn container_prune_removes_stopped_containers_its_filters_keep() {
    let d = Daemon::start();
    let run = |args: &[&str]| d.ok(&[&["run", "--network", "none"], args].concat());
    run(&["-d", "--name", "up", "busybox", "sleep", "300"]);
    run(&["--name", "kept", "--label", "keep=1", "busybox", "true"]);
    run(&["--name", "gone", "busybox", "sh", "-c", "echo x > /f"]);
    d.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "fresh",
        "busybox",
        "true",
    ]);
    let gone_id = d
        .ok(&["inspect", "-f", "{{.Id}}", "gone"])
        .trim()
        .to_owned();

    let out = d.ok(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert!(!out.contains("Deleted Containers"), "{out}");
    assert_eq!(names(&d), ["fresh", "gone", "kept", "up"]);

    let out = d.ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(out.contains(&gone_id), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(names(&d), ["kept", "up"]);
    assert!(
        !d.data_root().join("containers").join(&gone_id).exists(),
        "pruned container's state left"
    );
    assert!(
        common::mounts_under(&d.exec_root())
            .iter()
            .chain(&common::mounts_under(&d.data_root()))
            .all(|m| !m.to_string_lossy().contains(&gone_id)),
        "pruned container's rootfs still mounted"
    );

    let out = d.ok(&["container", "prune", "-f", "--filter", "label=keep=1"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert_eq!(names(&d), ["up"]);

    let err = d.docker(&["container", "prune", "-f", "--filter", "status=exited"]);
    assert!(!err.status.success());
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("invalid filter"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
    d.ok(&["rm", "-f", "up"]);
}
