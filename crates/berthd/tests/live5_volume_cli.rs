//! `berth volume create/ls/inspect/rm/prune` against berthd, side by side with the docker CLI
//! on the same daemon: the same output, and prune keeping named volumes unless `--all`.

mod common;

use common::Daemon;

fn berth_ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.berth(args);
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Both CLIs print the same for `args`.
fn same_as_docker(d: &Daemon, args: &[&str]) -> String {
    let ours = berth_ok(d, args);
    let docker = d.docker(args);
    assert!(docker.status.success(), "docker {args:?}: {docker:?}");
    assert_eq!(
        ours,
        String::from_utf8_lossy(&docker.stdout),
        "berth and docker differ on {args:?}"
    );
    ours
}

#[test]
fn berth_volume_commands_match_docker() {
    let d = Daemon::start();
    let pid = std::process::id();
    let (db, scratch) = (format!("live5-db-{pid}"), format!("live5-tmp-{pid}"));
    assert_eq!(
        berth_ok(
            &d,
            &[
                "volume", "create", "--label", "tier=db", "--label", "x", &db
            ]
        )
        .trim(),
        db
    );
    let opts = ["-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m"];
    assert_eq!(
        berth_ok(
            &d,
            &[&["volume", "create"][..], &opts, &[&scratch]].concat()
        )
        .trim(),
        scratch
    );
    // A generated name is not anonymous (as Docker): only --all prunes it.
    let generated = berth_ok(&d, &["volume", "create"]).trim().to_string();
    assert_eq!(generated.len(), 64, "{generated}");
    // A container's `-v /path` is, and stays behind a `rm` without -v.
    d.ok(&["create", "--name", "anon", "-v", "/data", "busybox", "true"]);
    let anonymous = d.ok(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anon"]);
    d.ok(&["rm", "anon"]);

    let table = same_as_docker(&d, &["volume", "ls"]);
    assert!(table.starts_with("DRIVER    VOLUME NAME\n"), "{table}");
    same_as_docker(&d, &["volume", "ls", "-q"]);
    assert_eq!(
        same_as_docker(&d, &["volume", "ls", "-q", "--filter", "label=tier=db"]).trim(),
        db
    );
    same_as_docker(
        &d,
        &[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}} {{.Scope}}",
        ],
    );
    // docker joins labels in Go's random map order; ours are sorted. (The filter is a
    // substring match: `name=db` alone also matched generated hex names containing "db".)
    let by_name = format!("name={db}");
    let labels = berth_ok(
        &d,
        &["volume", "ls", "-f", &by_name, "--format", "{{.Labels}}"],
    );
    assert_eq!(labels.trim(), "tier=db,x=");
    same_as_docker(&d, &["volume", "inspect", &db, &scratch]);
    assert_eq!(
        same_as_docker(
            &d,
            &["volume", "inspect", "-f", "{{.Options.type}}", &scratch]
        )
        .trim(),
        "tmpfs"
    );
    let missing = d.berth(&["volume", "inspect", "live5-nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no such volume"),
        "{missing:?}"
    );

    // In use: refused; the tmpfs options take effect in the container.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "user",
        "-v",
        &format!("{db}:/db"),
        "busybox",
        "sleep",
        "60",
    ]);
    let in_use = d.berth(&["volume", "rm", &db]);
    assert_eq!(in_use.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&in_use.stderr).contains("volume is in use"),
        "{in_use:?}"
    );
    let df = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{scratch}:/s"),
        "busybox",
        "df",
        "-k",
        "/s",
    ]);
    assert!(df.contains(" 1024 "), "{df}");

    // Prune: anonymous ones only, then with --all the unused named ones too; never one in use.
    let pruned = berth_ok(&d, &["volume", "prune", "-f"]);
    assert!(
        pruned.starts_with(&format!("Deleted Volumes:\n{anonymous}\n\n")),
        "{pruned}"
    );
    assert!(pruned.contains("Total reclaimed space: "), "{pruned}");
    let mut left: Vec<String> = vec![db.clone(), scratch.clone(), generated.clone()];
    left.sort();
    assert_eq!(
        berth_ok(&d, &["volume", "ls", "-q"]),
        format!("{}\n", left.join("\n"))
    );
    let pruned = berth_ok(&d, &["volume", "prune", "-f", "--all"]);
    assert!(
        pruned.contains(&scratch) && !pruned.contains(&db),
        "{pruned}"
    );
    d.ok(&["rm", "-f", "user"]);
    assert_eq!(berth_ok(&d, &["volume", "rm", &db]).trim(), db);
    assert_eq!(berth_ok(&d, &["volume", "ls", "-q"]), "");
}
