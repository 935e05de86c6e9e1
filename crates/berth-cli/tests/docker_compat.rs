//! Golden comparison: `berth` and `docker` against the same dockerd print the same bytes for
//! tables, inspect output and templates; plus the image commands end to end.

mod common;

use std::process::Output;

use common::{BUSYBOX, Dockerd, ok, stderr, stdout};

/// Runs both CLIs with `args`; "N seconds ago" can tick between the two calls, and docker's
/// CLI lists the rows of an image tagged in several repositories in Go map order (random per
/// run), so a mismatch is retried until that chance (1/2 per try for two repositories) is
/// negligible.
#[track_caller]
fn assert_same(d: &Dockerd, args: &[&str]) {
    let mut last = (String::new(), String::new());
    for _ in 0..12 {
        let ours: Output = d.berth(args);
        let theirs: Output = d.docker(args);
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{args:?}: exit codes differ\nberth: {}\ndocker: {}",
            stderr(&ours),
            stderr(&theirs)
        );
        last = (stdout(&ours), stdout(&theirs));
        if last.0 == last.1 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    panic!(
        "{args:?} differs:\n--- berth\n{}--- docker\n{}",
        last.0, last.1
    );
}

#[test]
fn output_matches_docker_for_the_same_daemon() {
    let d = Dockerd::start("compat");
    let pid = std::process::id();
    let (a, b, c) = (
        format!("cmp-a-{pid}"),
        format!("cmp-b-{pid}"),
        format!("cmp-c-{pid}"),
    );
    ok(d.berth(&[
        "run",
        "-d",
        "--name",
        &a,
        "--network",
        "none",
        "-l",
        "x=1",
        "-l",
        "y=2",
        BUSYBOX,
        "sleep",
        "1000",
    ]));
    ok(d.berth(&["create", "--name", &b, "--network", "none", BUSYBOX, "true"]));
    let out = d.berth(&[
        "run",
        "--name",
        &c,
        "--network",
        "none",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "1:1",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "--read-only",
        "--cap-drop",
        "NET_RAW",
        "--ulimit",
        "nofile=512:1024",
        "--entrypoint",
        "/bin/sh",
        BUSYBOX,
        "-c",
        "echo a long command line that gets truncated; exit 2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    ok(d.berth(&["tag", BUSYBOX, "berth-test/alias:v1"]));

    for args in [
        &["ps"][..],
        &["ps", "-a"],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-a", "-s"],
        &["ps", "-aq"],
        &[
            "ps",
            "-a",
            "--format",
            "table {{.ID}}\\t{{.Names}}\\t{{.Labels}}\\t{{.State}}",
        ],
        &[
            "ps",
            "-a",
            "--format",
            "{{.Names}}: {{.Command}} {{.Networks}}",
        ],
        &["ps", "-a", "--filter", "status=exited"],
        &[
            "ps",
            "-a",
            "--format",
            "{{.Names}} {{.Label \"y\"}} {{.Label \"none\"}}.",
        ],
        &["ps", "-n", "1"],
        &["images"],
        &["images", "-a"],
        &["images", "-q"],
        &["images", "--digests"],
        &["images", "--no-trunc"],
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ],
        &["images", "berth-test/alias"],
        &["history", BUSYBOX],
        &["history", "--no-trunc", BUSYBOX],
        &["inspect", &a],
        &["inspect", &a, &b],
        &["inspect", BUSYBOX],
        &["image", "inspect", BUSYBOX],
        &["container", "inspect", &c],
        &[
            "inspect",
            "-f",
            "{{.State.ExitCode}} {{.Config.Env}} {{.Config.Entrypoint}} {{.HostConfig.Memory}}",
            &c,
        ],
        &[
            "inspect",
            "-f",
            "{{json .Config.Labels}} {{.HostConfig.Ulimits}} {{.HostConfig.CapDrop}}",
            &a,
        ],
        &[
            "inspect",
            "-f",
            "{{range .Config.Env}}[{{.}}]{{end}} {{.Config.WorkingDir}} {{.Config.User}}",
            &c,
        ],
        &["inspect", "-f", "{{.Id}}", BUSYBOX],
        &[
            "inspect",
            "--type",
            "image",
            "-f",
            "{{.Os}}/{{.Architecture}}",
            BUSYBOX,
        ],
        &["container", "ls", "-a"],
        &["image", "ls"],
        &["system", "df"],
        &["system", "df", "-v"],
        &[
            "images",
            "--format",
            "{{.SharedSize}} {{.UniqueSize}} {{.Containers}}",
        ],
        &["top", &a],
        &["diff", &c],
    ] {
        assert_same(&d, args);
    }
    // Events between two instants: the same lines, default format and templates.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    assert_same(&d, &["events", "--since", "0", "--until", &now]);
    assert_same(
        &d,
        &[
            "events",
            "--since",
            "0",
            "--until",
            &now,
            "--format",
            "{{.Type}} {{.Action}} {{json .Actor.Attributes}}",
        ],
    );

    // A missing object: same message, same status.
    let ours = d.berth(&["inspect", "no-such-thing"]);
    let theirs = d.docker(&["inspect", "no-such-thing"]);
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(stdout(&ours), stdout(&theirs));
    assert_eq!(stderr(&ours), stderr(&theirs));
}

#[test]
fn image_commands_against_dockerd() {
    let d = Dockerd::start("images");
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("saved.tar");
    let tag = format!("berth-img-{}:saved", std::process::id());

    ok(d.berth(&["tag", BUSYBOX, &tag]));
    ok(d.berth(&["save", "-o", archive.to_str().unwrap(), &tag]));
    assert!(std::fs::metadata(&archive).unwrap().len() > 1_000_000);
    let out = ok(d.berth(&["rmi", &tag]));
    assert_eq!(out, format!("Untagged: {tag}\n"));
    let out = ok(d.berth(&["load", "-i", archive.to_str().unwrap()]));
    assert_eq!(out, format!("Loaded image: {tag}\n"));
    assert_eq!(
        ok(d.berth(&["images", "-q", &tag])),
        ok(d.docker(&["images", "-q", BUSYBOX]))
    );

    // Import a container's export as a new image.
    let src = format!("berth-export-{}", std::process::id());
    ok(d.berth(&[
        "create",
        "--name",
        &src,
        "--network",
        "none",
        BUSYBOX,
        "true",
    ]));
    let rootfs = tmp.path().join("rootfs.tar");
    ok(d.berth(&["export", "-o", rootfs.to_str().unwrap(), &src]));
    let imported = format!("berth-imported-{}:1", std::process::id());
    let out = ok(d.berth(&[
        "import",
        "-c",
        "CMD [\"/bin/echo\", \"from import\"]",
        rootfs.to_str().unwrap(),
        &imported,
    ]));
    assert!(out.starts_with("sha256:"), "{out}");
    let out = d.berth(&["run", "--rm", "--network", "none", &imported]);
    assert_eq!(ok(out), "from import\n");

    let out = d.berth(&["rmi", "no-such-image-berth"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("No such image"), "{}", stderr(&out));
}
