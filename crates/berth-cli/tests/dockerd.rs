//! `berth` driven against a real, private dockerd: the commands work end to end and print
//! what `docker` prints for the same daemon.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{BUSYBOX, Dockerd, ok, stderr, stdout};

fn name(tag: &str) -> String {
    format!("cli-{tag}-{}", std::process::id())
}

#[test]
fn container_lifecycle_against_dockerd() {
    let d = Dockerd::start("lifecycle");

    let version = ok(d.berth(&["version"]));
    assert!(version.contains("API version:       1.41"), "{version}");

    // Foreground run: output, exit status, stderr passed through.
    let out = d.berth(&["run", "--rm", "--network", "none", BUSYBOX, "echo", "hello"]);
    assert_eq!(ok(out), "hello\n");
    let out = d.berth(&[
        "run",
        "--rm",
        "--network",
        "none",
        BUSYBOX,
        "sh",
        "-c",
        "echo oops >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), "oops\n");

    // Docker's exit codes: 127 command not found, 126 not executable, 125 daemon errors.
    let out = d.berth(&[
        "run",
        "--rm",
        "--network",
        "none",
        BUSYBOX,
        "no-such-command",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    let out = d.berth(&["run", "--rm", "--network", "none", BUSYBOX, "/etc"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    // (The registry is a closed loopback port: the pull fails without leaving the machine.)
    let missing = "127.0.0.1:9/no-such-image-berth:1";
    let out = d.berth(&["run", "--rm", "--network", "none", missing]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("Unable to find image '{missing}' locally")),
        "{}",
        stderr(&out)
    );

    // Stdin through the hijacked attach.
    let mut child = d
        .berth_cmd(&[
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            BUSYBOX,
            "tr",
            "a-z",
            "A-Z",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"shout\n").unwrap();
    assert_eq!(ok(child.wait_with_output().unwrap()), "SHOUT\n");

    // Detached: the full ID, then logs, exec, inspect, cp, stop, start -a.
    let web = name("web");
    let id = ok(d.berth(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        "none",
        "-e",
        "GREETING=hi",
        "-l",
        "tier=web",
        BUSYBOX,
        "sh",
        "-c",
        "echo started; echo warn >&2; sleep 1000",
    ]));
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let ps = ok(d.berth(&["ps", "--format", "{{.ID}} {{.Names}} {{.State}}"]));
    assert!(ps.contains(&format!("{} {web} running", &id[..12])), "{ps}");
    assert_eq!(ok(d.berth(&["ps", "-q", "--no-trunc"])).trim(), id);

    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = d.berth(&["logs", &web]);
    assert_eq!(stdout(&logs), "started\n");
    assert_eq!(stderr(&logs), "warn\n");

    let out = d.berth(&["exec", &web, "sh", "-c", "echo $GREETING; exit 4"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "hi\n");
    let out = ok(d.berth(&[
        "exec",
        "-u",
        "1:1",
        "-w",
        "/tmp",
        "-e",
        "X=y",
        &web,
        "sh",
        "-c",
        "id -u; pwd; echo $X",
    ]));
    assert_eq!(out, "1\n/tmp\ny\n");
    let mut child = d
        .berth_cmd(&["exec", "-i", &web, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through exec\n")
        .unwrap();
    assert_eq!(ok(child.wait_with_output().unwrap()), "through exec\n");

    let fmt =
        "{{.Name}} {{.Config.Labels.tier}} {{json .Config.Env}} {{index .Config.Labels \"tier\"}}";
    let inspected = ok(d.berth(&["inspect", "-f", fmt, &web]));
    assert!(
        inspected.starts_with(&format!("/{web} web [")),
        "{inspected}"
    );
    assert!(inspected.contains("\"GREETING=hi\""), "{inspected}");
    assert_eq!(inspected, ok(d.docker(&["inspect", "-f", fmt, &web])));

    // cp both ways.
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("in.txt");
    std::fs::write(&local, "copied in\n").unwrap();
    ok(d.berth(&[
        "cp",
        local.to_str().unwrap(),
        &format!("{web}:/tmp/renamed.txt"),
    ]));
    let out = ok(d.berth(&["exec", &web, "cat", "/tmp/renamed.txt"]));
    assert_eq!(out, "copied in\n");
    let back = tmp.path().join("back.txt");
    ok(d.berth(&[
        "cp",
        &format!("{web}:/tmp/renamed.txt"),
        back.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "copied in\n");
    ok(d.berth(&["cp", &format!("{web}:/etc"), tmp.path().to_str().unwrap()]));
    assert!(tmp.path().join("etc/passwd").is_file());

    let top = ok(d.berth(&["top", &web]));
    assert!(top.starts_with("UID"), "{top}");
    assert!(top.contains("sleep 1000"), "{top}");

    ok(d.berth(&["pause", &web]));
    assert_eq!(
        ok(d.berth(&["inspect", "-f", "{{.State.Status}}", &web])),
        "paused\n"
    );
    ok(d.berth(&["unpause", &web]));

    let renamed = name("renamed");
    ok(d.berth(&["rename", &web, &renamed]));
    assert_eq!(
        ok(d.berth(&["kill", "-s", "KILL", &renamed])),
        format!("{renamed}\n")
    );
    assert_eq!(ok(d.berth(&["wait", &renamed])), "137\n");

    ok(d.berth(&["rm", "-f", &renamed]));

    // create, then start -a: the output and the container's exit status.
    let once = name("once");
    let created = ok(d.berth(&[
        "create",
        "--name",
        &once,
        "--network",
        "none",
        BUSYBOX,
        "sh",
        "-c",
        "echo once; exit 6",
    ]));
    assert_eq!(created.trim().len(), 64);
    let out = d.berth(&["start", "-a", &once]);
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(stdout(&out), "once\n");
    let status = ok(d.berth(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={once}"),
        "--format",
        "{{.Status}}",
    ]));
    assert!(status.starts_with("Exited (6)"), "{status}");
    assert_eq!(ok(d.berth(&["rm", &once])), format!("{once}\n"));
    let out = d.berth(&["rm", &renamed]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No such container"),
        "{}",
        stderr(&out)
    );

    // --sig-proxy (the default without a TTY): a SIGTERM to berth reaches the container.
    let trapper = name("trap");
    let mut child = d
        .berth_cmd(&[
            "run",
            "--rm",
            "--name",
            &trapper,
            "--network",
            "none",
            BUSYBOX,
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = rustix::process::Pid::from_child(&child);
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert_eq!(line, "ready\n");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42));

    // attach: stdin in, output out, the container's exit status back.
    let reader = name("reader");
    ok(d.berth(&[
        "run",
        "-d",
        "-i",
        "--name",
        &reader,
        "--network",
        "none",
        BUSYBOX,
        "sh",
        "-c",
        "read line; echo got:$line; exit 5",
    ]));
    let mut child = d
        .berth_cmd(&["attach", &reader])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep stdin open until the answer is out: like docker, once the client's stdin ends the
    // daemon stops streaming a non-TTY attach.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    let mut answer = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut answer, &mut line).unwrap();
    assert_eq!(line, "got:hello\n");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(5));

    // logs -f follows until the container exits; --tail and -t shape the output.
    let ticker = name("ticker");
    ok(d.berth(&[
        "run",
        "-d",
        "--name",
        &ticker,
        "--network",
        "none",
        BUSYBOX,
        "sh",
        "-c",
        "for i in 1 2 3; do echo tick $i; sleep 0.3; done",
    ]));
    let followed = ok(d.berth(&["logs", "-f", &ticker]));
    assert_eq!(followed, "tick 1\ntick 2\ntick 3\n");
    assert_eq!(ok(d.berth(&["logs", "--tail", "1", &ticker])), "tick 3\n");
    let stamped = ok(d.berth(&["logs", "-t", "-n", "1", &ticker]));
    assert!(
        stamped.ends_with("Z tick 3\n") && stamped.starts_with("20"),
        "{stamped}"
    );

    // stats --no-stream with docker's columns.
    let sleeper = name("sleeper");
    ok(d.berth(&[
        "run",
        "-d",
        "--name",
        &sleeper,
        "--network",
        "none",
        BUSYBOX,
        "sleep",
        "60",
    ]));
    let stats = ok(d.berth(&["stats", "--no-stream", &sleeper]));
    let mut lines = stats.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    let row = lines.next().unwrap();
    assert!(row.contains(&sleeper) && row.ends_with('1'), "{stats}");
    let formatted = ok(d.berth(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        &sleeper,
    ]));
    assert_eq!(formatted, format!("{sleeper} 1\n"));
    ok(d.berth(&["rm", "-f", &sleeper, &ticker, &reader]));
}
