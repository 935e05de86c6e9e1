//! The real `docker` CLI against berthd: `docker volume …`, `-v`/`--mount` volumes that
//! outlive containers, anonymous volumes removed by `rm -v`, and `--init`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Daemon;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn volume_create_ls_inspect_rm_prune() {
    let d = Daemon::start();
    assert_eq!(
        d.ok(&["volume", "create", "--label", "tier=db", "vol-one"]),
        "vol-one"
    );
    let anon = d.ok(&["volume", "create"]);
    assert_eq!(anon.len(), 64, "generated name: {anon}");
    let mut names: Vec<String> = d
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    let mut want = vec![anon.clone(), "vol-one".to_string()];
    want.sort();
    assert_eq!(names, want);
    assert_eq!(
        d.ok(&["volume", "ls", "-q", "--filter", "label=tier=db"]),
        "vol-one"
    );
    assert_eq!(
        d.ok(&["volume", "ls", "-q", "--filter", "name=one"]),
        "vol-one"
    );
    let mountpoint = d.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "vol-one"]);
    assert_eq!(
        PathBuf::from(&mountpoint),
        d.data_root().join("volumes/vol-one/_data")
    );
    assert_eq!(
        d.ok(&[
            "volume",
            "inspect",
            "-f",
            "{{.Driver}} {{.Labels.tier}}",
            "vol-one"
        ]),
        "local db"
    );
    let bad = d.docker(&["volume", "create", "../escape"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("includes invalid characters"),
        "{}",
        stderr(&bad)
    );
    let bad = d.docker(&["volume", "create", "-d", "nfs", "x1"]);
    assert!(
        stderr(&bad).contains("plugin \"nfs\" not found"),
        "{}",
        stderr(&bad)
    );
    let missing = d.docker(&["volume", "inspect", "nope"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no such volume"),
        "{}",
        stderr(&missing)
    );
    d.ok(&["volume", "rm", "vol-one"]);
    let pruned = d.ok(&["volume", "prune", "-f"]);
    assert!(pruned.contains(&anon), "{pruned}");
    assert_eq!(d.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn data_in_a_named_volume_outlives_the_container() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "--name",
        "writer",
        "-v",
        "keep:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let in_use = d.docker(&["volume", "rm", "keep"]);
    assert!(!in_use.status.success());
    assert!(
        stderr(&in_use).contains("volume is in use"),
        "{}",
        stderr(&in_use)
    );
    d.ok(&["rm", "-v", "writer"]);
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--mount",
            "type=volume,source=keep,target=/again",
            "busybox",
            "cat",
            "/again/f"
        ]),
        "kept"
    );
    // An empty named volume starts with the image's content at its mount point.
    assert!(
        d.ok(&[
            "run",
            "--rm",
            "-v",
            "etc-copy:/etc",
            "busybox",
            "cat",
            "/etc/passwd"
        ])
        .contains("root:x:0:0")
    );
    assert!(
        d.data_root()
            .join("volumes/etc-copy/_data/passwd")
            .is_file()
    );
    // Read-only volumes stay read-only.
    let ro = d.docker(&[
        "run",
        "--rm",
        "-v",
        "keep:/data:ro",
        "busybox",
        "touch",
        "/data/g",
    ]);
    assert!(!ro.status.success(), "{ro:?}");
    d.ok(&["volume", "rm", "keep", "etc-copy"]);
}

#[test]
fn rm_v_removes_the_anonymous_volume() {
    let d = Daemon::start();
    d.ok(&["create", "--name", "anon", "-v", "/data", "busybox", "true"]);
    let name = d.ok(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anon"]);
    assert_eq!(
        name.len(),
        64,
        "inspect shows the anonymous volume: {name:?}"
    );
    assert_eq!(d.ok(&["volume", "ls", "-q"]), name);
    d.ok(&["rm", "-v", "anon"]);
    assert_eq!(d.ok(&["volume", "ls", "-q"]), "");
    assert!(!d.data_root().join("volumes").join(&name).exists());
}

/// A static berth-init next to berthd, where the daemon looks for it: built with
/// crt-static into its own target dir (a plain `cargo build` makes a dynamic one).
fn install_static_init() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target_dir = workspace.join("target/static-init");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "rustc",
            "-q",
            "-p",
            "berth-init",
            "--bin",
            "berth-init",
            "--target-dir",
        ])
        .arg(&target_dir)
        .args(["--", "-C", "target-feature=+crt-static"])
        .status()
        .expect("running cargo");
    assert!(status.success(), "building the static berth-init failed");
    let built = target_dir.join("debug/berth-init");
    let beside = Path::new(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth-init");
    let temp = beside.with_extension(format!("tmp{}", std::process::id()));
    std::fs::copy(&built, &temp).unwrap();
    std::fs::rename(&temp, &beside).unwrap();
}

#[test]
fn init_runs_as_pid_1_and_reaps() {
    install_static_init();
    let d = Daemon::start();
    let ps = d.ok(&["run", "--rm", "--init", "busybox", "ps", "-o", "pid,args"]);
    let first = ps.lines().nth(1).unwrap_or_default();
    assert!(
        first.split_whitespace().collect::<Vec<_>>()[..]
            == ["1", "/sbin/docker-init", "--", "ps", "-o", "pid,args"],
        "{ps}"
    );
    // The exit code comes through the init.
    let out = d.docker(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    // An orphan that exits is reaped: no zombie is left while the command still runs.
    let ps = d.ok(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "(sh -c 'sleep 0.2' &); sleep 1; ps -o stat,args",
    ]);
    assert!(!ps.lines().any(|l| l.trim_start().starts_with('Z')), "{ps}");
}

#[test]
fn run_rm_removes_anonymous_volumes_and_keeps_named_ones() {
    let d = Daemon::start();
    let named = format!("live5-rm-keep-{}", std::process::id());
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "-v",
            "/anon",
            "-v",
            &format!("{named}:/named"),
            "busybox",
            "sh",
            "-c",
            "echo a > /anon/f; echo n > /named/f; cat /anon/f /named/f",
        ]),
        "a\nn"
    );
    // The container is gone, and with it the anonymous volume; the named one stays.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !d.ok(&["ps", "-aq"]).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "--rm left the container"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(d.ok(&["volume", "ls", "-q"]), named);
    // A detached `--rm` container ending by itself does the same.
    d.ok(&[
        "run", "-d", "--rm", "-v", "/anon", "busybox", "sleep", "0.2",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while d.ok(&["volume", "ls", "-q"]) != named {
        assert!(
            std::time::Instant::now() < deadline,
            "the anonymous volume outlived its --rm container: {}",
            d.ok(&["volume", "ls", "-q"])
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "-v",
            &format!("{named}:/n"),
            "busybox",
            "cat",
            "/n/f"
        ]),
        "n"
    );
    d.ok(&["volume", "rm", &named]);
}
