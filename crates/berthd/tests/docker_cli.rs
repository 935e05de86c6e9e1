//! The real `docker` CLI against berthd: the container lifecycle.

mod common;

use common::Daemon;

#[test]
fn run_rm_prints_output_and_leaves_nothing() {
    let d = Daemon::start();
    assert_eq!(d.ok(&["run", "--rm", "busybox", "echo", "hi"]), "hi");
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    assert!(d.container_ids().is_empty());
    assert!(common::mounts_under(&d.data_root()).is_empty());
}

#[test]
fn etc_files_and_hostnames_follow_docker() {
    let d = Daemon::start();
    let id = d.ok(&["create", "busybox", "cat", "/etc/hostname"]);
    // `start -a` attaches before it starts, like run.
    assert_eq!(d.ok(&["start", "-a", &id]), &id[..12]);
    assert_eq!(
        d.ok(&["run", "--rm", "--hostname", "hh", "busybox", "hostname"]),
        "hh"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        d.ok(&["run", "--rm", "--network", "host", "busybox", "hostname"]),
        host.trim()
    );
    let hosts = d.ok(&["run", "--rm", "busybox", "cat", "/etc/hosts"]);
    assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"), "{hosts}");
    let resolv = d.ok(&["run", "--rm", "busybox", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("nameserver 127."), "{resolv}");
}

#[test]
fn run_returns_the_containers_exit_code_and_docker_codes_for_bad_programs() {
    let d = Daemon::start();
    let out = d.docker(&["run", "--name", "three", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.ExitCode}} {{.State.Status}}",
            "three"
        ]),
        "3 exited"
    );
    let out = d.docker(&["run", "--rm", "busybox", "nope"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exec: \"nope\": executable file not found in $PATH"),
        "{stderr}"
    );
    let out = d.docker(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    // --rm removed both failed containers; only "three" is left.
    assert_eq!(d.ok(&["ps", "-a", "--format", "{{.Names}}"]), "three");
}

#[test]
fn detached_container_lists_stops_and_is_removed() {
    let d = Daemon::start();
    let id = d.ok(&["run", "-d", "--name", "web", "busybox", "sleep", "60"]);
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(
        d.ok(&["ps", "--format", "{{.Names}} {{.Image}}"]),
        "web busybox"
    );
    let status = d.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(status.starts_with("Up "), "{status}");
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}}", "web"]),
        "true"
    );
    let out = d.docker(&["rm", "web"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("container is running"),
        "{out:?}"
    );
    d.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(d.ok(&["ps", "-q"]), "");
    let status = d.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(
        status.starts_with("Exited (143)") || status.starts_with("Exited (137)"),
        "{status}"
    );
    d.ok(&["rm", "web"]);
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    assert!(common::mounts_under(&d.data_root()).is_empty());
    assert!(common::cgroup_dirs(&id).is_empty());
    assert!(d.shim_pids().is_empty());
}

#[test]
fn create_refuses_a_taken_name_and_wait_returns_the_code() {
    let d = Daemon::start();
    d.ok(&["create", "--name", "taken", "busybox", "sh", "-c", "exit 7"]);
    let out = d.docker(&["create", "--name", "taken", "busybox", "true"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Conflict. The container name \"/taken\" is already in use"),
        "{stderr}"
    );
    assert_eq!(d.ok(&["ps", "-a", "--format", "{{.Status}}"]), "Created");
    for (args, message) in [
        (
            &["create", "--pull", "never", "nosuchimage"][..],
            "No such image: nosuchimage",
        ),
        (
            &["create", "--name", "a b", "busybox", "true"][..],
            "Invalid container name (a b)",
        ),
        (
            &["start", "nosuchcontainer"][..],
            "No such container: nosuchcontainer",
        ),
    ] {
        let out = d.docker(args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(d.ok(&["ps", "-aq"]).lines().count(), 1);
    d.ok(&["start", "taken"]);
    assert_eq!(d.ok(&["wait", "taken"]), "7");
    d.ok(&["rm", "taken"]);
}

#[test]
fn stdin_streams_into_the_container() {
    let d = Daemon::start();
    let out = d.docker_with_input(&["run", "--rm", "-i", "busybox", "cat"], b"hi\nthere\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\nthere\n");
}

#[test]
fn kill_pause_rename_and_restart() {
    let d = Daemon::start();
    d.ok(&["run", "-d", "--name", "a", "busybox", "sleep", "60"]);
    d.ok(&["pause", "a"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.Status}}", "a"]), "paused");
    d.ok(&["unpause", "a"]);
    d.ok(&["rename", "a", "b"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.Name}}", "b"]), "/b");
    d.ok(&["restart", "-t", "0", "b"]);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "b"]),
        "running"
    );
    d.ok(&["kill", "-s", "KILL", "b"]);
    assert_eq!(d.ok(&["wait", "b"]), "137");
    let out = d.docker(&["kill", "b"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not running"),
        "{out:?}"
    );
    d.ok(&["rm", "b"]);
    // A paused container is removed by force too (it is thawed to take its SIGKILL).
    d.ok(&["run", "-d", "--name", "frozen", "busybox", "sleep", "60"]);
    d.ok(&["pause", "frozen"]);
    d.ok(&["rm", "-f", "frozen"]);
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    assert!(d.shim_pids().is_empty());
}

#[test]
fn tty_gets_the_clients_size() {
    let d = Daemon::start();
    let out = d.in_pty("stty rows 30 cols 100; docker run --rm -it busybox sh -c 'stty size; tty'");
    assert!(out.status.success(), "{out:?}");
    // `script` sends an EOF character (its stdin is /dev/null) that docker forwards into the
    // container's terminal, which echoes it as `^@` wherever it lands in the output.
    let text = String::from_utf8_lossy(&out.stdout)
        .replace('\r', "")
        .replace("^@", "");
    assert!(text.contains("30 100\n/dev/pts/0"), "{text:?}");
}

#[test]
fn run_rm_whose_start_fails_is_removed_and_the_cli_returns() {
    let d = Daemon::start();
    // A start that fails before any process exists (the network it joins is not there):
    // docker waits for the auto-removal, which must happen.
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "container:nobody",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot join network of a non running container: nobody"),
        "{stderr}"
    );
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    // Without --rm the container stays, with the error on record.
    let out = d.docker(&[
        "run",
        "--name",
        "kept",
        "--network",
        "container:nobody",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        d.ok(&["inspect", "-f", "{{.State.Error}}", "kept"])
            .contains("nobody"),
        "{}",
        d.log()
    );
}
