//! Crash injection: berthd aborts at a fault point (`BERTH_FAULT=<op>:<step>`) inside create,
//! start and remove; the next berthd repairs what it must, and nothing is leaked — no mounts,
//! cgroups, snapshot directories, shims, anonymous volumes or half container records. The
//! container is either fully there or fully gone.

mod common;
mod live5_fixture;

use common::registry::Registry;
use live5_fixture::CrashDaemon;

/// What a daemon holds of containers, for before/after comparisons.
#[derive(Debug, PartialEq, Eq)]
struct Leftovers {
    containers: Vec<String>,
    snapshots: Vec<String>,
    mounts: Vec<std::path::PathBuf>,
    volumes: Vec<String>,
    /// Which container mounts which volume.
    volume_users: Vec<String>,
    shims: Vec<i32>,
}

fn leftovers(d: &CrashDaemon) -> Leftovers {
    Leftovers {
        containers: d.container_dirs(),
        snapshots: d.snapshot_dirs(),
        mounts: d.container_mounts(),
        volumes: d.entries(d.data_root().join("volumes")),
        volume_users: d.entries(d.data_root().join("volumes/_containers")),
        shims: d.shim_pids(),
    }
}

/// Runs `docker args`, which must fail because the daemon aborted under it.
fn crash_during(d: &mut CrashDaemon, fault: &str, args: &[&str]) {
    d.start(Some(fault));
    let out = d.docker(args);
    assert!(
        !out.status.success(),
        "docker {args:?} succeeded although berthd should have aborted at {fault}"
    );
    d.expect_abort(fault);
}

#[test]
fn a_create_that_crashes_is_undone_at_the_next_start() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    let clean = leftovers(&d);
    d.kill9();
    for fault in ["create:after-snapshot", "create:after-bundle"] {
        crash_during(
            &mut d,
            fault,
            &["create", "--name", "half", "-v", "/anon", "busybox", "true"],
        );
        // The crash left a half-made container: its directory and its mounted rootfs.
        let left = leftovers(&d);
        assert_eq!(left.containers.len(), 1, "{fault}: {left:?}");
        assert_eq!(left.mounts.len(), 1, "{fault}: {left:?}");
        assert_ne!(left.snapshots, clean.snapshots, "{fault}");
        d.start(None);
        assert_eq!(leftovers(&d), clean, "{fault}: leaked; log:\n{}", d.log());
        assert_eq!(d.ok(&["ps", "-aq"]), "", "{fault}");
        assert_eq!(d.ok(&["volume", "ls", "-q"]), "", "{fault}");
        // The name is free again and a create now works whole.
        d.ok(&["create", "--name", "half", "-v", "/anon", "busybox", "true"]);
        d.ok(&["rm", "-v", "half"]);
        d.kill9();
    }
}

#[test]
fn a_start_that_crashes_after_the_shim_leaves_no_run_behind() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    let id = d.ok(&["create", "--name", "run", "busybox", "sleep", "300"]);
    d.kill9();
    crash_during(&mut d, "start:after-shim", &["start", "run"]);
    assert_eq!(
        d.shim_pids().len(),
        1,
        "the shim was started before the crash"
    );
    assert!(!common::cgroup_dirs(&id).is_empty(), "the run had cgroups");
    d.start(None);
    // The start never answered: its run is stopped, the container stays as recorded.
    assert_eq!(d.shim_pids(), Vec::<i32>::new(), "log:\n{}", d.log());
    assert_eq!(
        common::cgroup_dirs(&id),
        Vec::<std::path::PathBuf>::new(),
        "log:\n{}",
        d.log()
    );
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "run"]),
        "created"
    );
    d.ok(&["start", "run"]);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "run"]),
        "running"
    );
    d.ok(&["rm", "-f", "run"]);
}

#[test]
fn a_remove_that_crashes_is_finished_at_the_next_start() {
    let mut d = CrashDaemon::prepare();
    d.start(None);
    let clean = leftovers(&d);
    d.ok(&["volume", "create", "named"]);
    let clean_with_named = leftovers(&d);
    for fault in ["remove:after-kill", "remove:after-snapshot"] {
        let id = d.ok(&[
            "run",
            "-d",
            "--name",
            "gone",
            "-v",
            "/anon",
            "-v",
            "named:/named",
            "busybox",
            "sleep",
            "300",
        ]);
        d.kill9();
        crash_during(&mut d, fault, &["rm", "-f", "-v", "gone"]);
        d.start(None);
        assert_eq!(
            leftovers(&d),
            clean_with_named,
            "{fault}: leaked; log:\n{}",
            d.log()
        );
        assert_eq!(
            common::cgroup_dirs(&id),
            Vec::<std::path::PathBuf>::new(),
            "{fault}"
        );
        assert_eq!(d.ok(&["ps", "-aq"]), "", "{fault}");
        // `-v` took the anonymous volume only; the named one stays.
        assert_eq!(d.ok(&["volume", "ls", "-q"]), "named", "{fault}");
    }
    d.ok(&["volume", "rm", "named"]);
    assert_eq!(leftovers(&d), clean);
}

/// Files under `dir` (recursively) whose name marks them as temporary.
fn temp_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.contains("tmp") || name.contains("ingest") {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(temp_files(&path));
        }
    }
    found
}

#[test]
fn a_pull_that_crashes_mid_blob_leaves_no_partial_blob_or_image() {
    let mut d = CrashDaemon::prepare();
    let registry = Registry::start(d.dir.path(), &[]);
    let remote = format!("{}/live5/crash:1", registry.addr);
    d.start(None);
    d.ok(&["tag", "busybox", &remote]);
    d.ok(&["push", &remote]);
    d.ok(&["rmi", &remote, "busybox", "fixtures/busybox:1.35"]);
    assert_eq!(d.ok(&["images", "-q"]), "");
    let blobs = d.data_root().join("store/blobs");
    let before = d.entries(blobs.join("sha256"));
    let snapshots = d.snapshot_dirs();
    d.kill9();
    crash_during(&mut d, "pull:mid-blob", &["pull", &remote]);
    assert!(
        !temp_files(&blobs).is_empty(),
        "the crash left no partial blob to clean up"
    );
    d.start(None);
    assert_eq!(temp_files(&blobs), Vec::<std::path::PathBuf>::new());
    // Blobs another download finished before the crash may stay (whole and verified: garbage
    // collection takes them); none is partial.
    for name in d.entries(blobs.join("sha256")) {
        if before.contains(&name) {
            continue;
        }
        let out = std::process::Command::new("sha256sum")
            .arg(blobs.join("sha256").join(&name))
            .output()
            .expect("sha256sum");
        let sum = String::from_utf8_lossy(&out.stdout);
        assert!(sum.starts_with(&name), "blob {name} is partial: {sum}");
    }
    assert_eq!(d.snapshot_dirs(), snapshots);
    assert_eq!(d.ok(&["images", "-q"]), "");
    // And the pull, done again, is whole.
    d.ok(&["pull", &remote]);
    assert_eq!(d.ok(&["run", "--rm", &remote, "echo", "pulled"]), "pulled");
}
