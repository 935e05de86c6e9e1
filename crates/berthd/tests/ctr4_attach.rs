//! Attach with `logs=1`, detach keys (docker CLI and daemon side), and terminal resizes, against
//! a private berthd: the docker CLI on a real pseudo-terminal, and a raw API client for what
//! SDKs do.

mod common;
mod ctr4_support;

use std::io::Write;

use common::Daemon;
use ctr4_support::{
    Pty, call, contains, eventually, frames, hijack, read_to_eof, read_until, wait_exit,
};

fn running(d: &Daemon, name: &str) -> bool {
    d.ok(&["inspect", "-f", "{{.State.Running}}", name]) == "true"
}

#[test]
fn attach_logs_replays_the_log_before_the_live_multiplexed_stream() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "-i",
        "--network",
        "none",
        "--name",
        "lg",
        "busybox",
        "sh",
        "-c",
        "echo out1; echo err1 >&2; read line; echo \"got $line\"; echo bye >&2",
    ]);
    eventually("the first lines in the log", || {
        let out = d.docker(&["logs", "lg"]);
        String::from_utf8_lossy(&out.stderr).contains("err1")
    });
    // logs=1&stream=0: the log so far, then the end; the container runs on.
    let mut s = hijack(
        &d.socket(),
        "/v1.41/containers/lg/attach?logs=1&stream=0&stdout=1&stderr=1",
        "",
    );
    let (eof, data) = read_to_eof(&mut s);
    assert!(eof, "stream=0 must end after the replay");
    assert_eq!(
        frames(&data),
        vec![(1, "out1\n".to_string()), (2, "err1\n".to_string())]
    );
    assert!(running(&d, "lg"));
    // Only stderr asked for: only stderr replayed.
    let mut s = hijack(
        &d.socket(),
        "/containers/lg/attach?logs=1&stream=0&stderr=1",
        "",
    );
    assert_eq!(
        frames(&read_to_eof(&mut s).1),
        vec![(2, "err1\n".to_string())]
    );
    // logs=1&stream=1: the replay, then live output for the input we send.
    let mut s = hijack(
        &d.socket(),
        "/containers/lg/attach?logs=1&stream=1&stdin=1&stdout=1&stderr=1",
        "",
    );
    let replay = read_until(&mut s, b"err1\n");
    assert_eq!(
        frames(&replay),
        vec![(1, "out1\n".to_string()), (2, "err1\n".to_string())]
    );
    s.write_all(b"hello\n").unwrap();
    let (eof, live) = read_to_eof(&mut s);
    assert!(eof, "the stream ends when the container exits");
    assert_eq!(
        frames(&live),
        vec![(1, "got hello\n".to_string()), (2, "bye\n".to_string())]
    );
}

#[test]
fn attach_logs_on_a_tty_container_is_raw() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "-t",
        "--network",
        "none",
        "--name",
        "lt",
        "busybox",
        "sh",
        "-c",
        "echo tty-line; sleep 300",
    ]);
    eventually("the tty line in the log", || {
        d.ok(&["logs", "lt"]).contains("tty-line")
    });
    let mut s = hijack(
        &d.socket(),
        "/containers/lt/attach?logs=1&stream=0&stdout=1&stderr=1",
        "",
    );
    let (eof, data) = read_to_eof(&mut s);
    assert!(eof);
    assert_eq!(String::from_utf8_lossy(&data), "tty-line\r\n");
}

#[test]
fn start_attach_after_a_restart_streams_only_the_new_run() {
    let d = Daemon::start();
    d.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "again",
        "busybox",
        "sh",
        "-c",
        "echo run-$(cat /proc/sys/kernel/random/uuid | cut -c1-4)",
    ]);
    let first = d.ok(&["start", "-a", "again"]);
    let second = d.ok(&["start", "-a", "again"]);
    assert!(
        first.starts_with("run-") && second.starts_with("run-"),
        "{first} {second}"
    );
    assert_eq!(
        second.lines().count(),
        1,
        "start -a replayed old output: {second:?}"
    );
    assert_eq!(d.ok(&["logs", "again"]).lines().count(), 2);
}

#[test]
fn exec_detach_keys_from_the_docker_cli_leave_the_process_running() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "ex",
        "busybox",
        "sleep",
        "300",
    ]);
    for (keys, typed) in [(Some("ctrl-x,y"), &b"\x18y"[..]), (None, &b"\x10\x11"[..])] {
        let mut pty = Pty::new(24, 80);
        let mut args = vec!["exec", "-it"];
        if let Some(keys) = keys {
            args.extend(["--detach-keys", keys]);
        }
        args.extend(["ex", "sh"]);
        let mut child = pty.spawn(d.docker_cmd(&args));
        pty.expect("# ");
        pty.send(b"echo $$ > /tmp/detached-pid; echo pid-saved\r");
        pty.expect("pid-saved");
        pty.send(typed);
        let status = wait_exit(&mut child);
        assert!(
            status.code().is_some(),
            "docker exec was killed: {status:?}"
        );
        let alive = d.docker(&[
            "exec",
            "ex",
            "sh",
            "-c",
            "kill -0 $(cat /tmp/detached-pid) && echo alive",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&alive.stdout).trim(),
            "alive",
            "the detached shell ({keys:?}) is gone: {alive:?}"
        );
    }
}

#[test]
fn the_daemon_detaches_raw_clients_on_their_detach_keys() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "-i",
        "-t",
        "--network",
        "none",
        "--name",
        "raw",
        "busybox",
        "sh",
    ]);
    // Invalid keys are refused at exec create, as Docker does.
    let (code, body) = call(
        &d.socket(),
        "POST",
        "/containers/raw/exec",
        r#"{"Cmd":["sh"],"Tty":true,"DetachKeys":"ctrl-"}"#,
    );
    assert_eq!(code, 400, "{body}");
    let (code, body) = call(
        &d.socket(),
        "POST",
        "/containers/raw/exec",
        r#"{"Cmd":["sh"],"Tty":true,"AttachStdin":true,"AttachStdout":true,"DetachKeys":"ctrl-x,y"}"#,
    );
    assert_eq!(code, 201, "{body}");
    let exec_id = body["Id"].as_str().unwrap().to_string();
    let mut s = hijack(
        &d.socket(),
        &format!("/exec/{exec_id}/start"),
        r#"{"Detach":false,"Tty":true}"#,
    );
    s.write_all(b"echo ready-$((40+2))\n").unwrap();
    assert!(contains(&read_until(&mut s, b"ready-42"), b"ready-42"));
    s.write_all(b"\x18y").unwrap();
    let (eof, _) = read_to_eof(&mut s);
    assert!(
        eof,
        "the daemon did not end the exec stream on its detach keys"
    );
    let (_, inspect) = call(&d.socket(), "GET", &format!("/exec/{exec_id}/json"), "");
    assert_eq!(inspect["Running"], true, "{inspect}");

    // The container's own attach, with the default keys (Ctrl-P Ctrl-Q).
    let mut s = hijack(
        &d.socket(),
        "/containers/raw/attach?stream=1&stdin=1&stdout=1&stderr=1",
        "",
    );
    s.write_all(b"echo attached-$((6*7))\n").unwrap();
    assert!(contains(
        &read_until(&mut s, b"attached-42"),
        b"attached-42"
    ));
    s.write_all(b"\x10\x11").unwrap();
    let (eof, _) = read_to_eof(&mut s);
    assert!(
        eof,
        "the daemon did not end the attach stream on Ctrl-P Ctrl-Q"
    );
    assert!(running(&d, "raw"));
    // Re-attach: the same shell still reads its terminal.
    let mut s = hijack(
        &d.socket(),
        "/containers/raw/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x,y",
        "",
    );
    s.write_all(b"echo back-$((40+3))\n").unwrap();
    assert!(contains(&read_until(&mut s, b"back-43"), b"back-43"));
    let (code, _) = call(
        &d.socket(),
        "POST",
        "/containers/raw/attach?stream=1&stdin=1&detachKeys=ctrl-1",
        "",
    );
    assert_eq!(code, 400);
}

#[test]
fn window_size_follows_sigwinch_and_the_resize_endpoints() {
    let d = Daemon::start();
    // docker run -it: the CLI sends its terminal's size at start and on SIGWINCH.
    let mut pty = Pty::new(30, 100);
    let mut child = pty.spawn(d.docker_cmd(&[
        "run",
        "-it",
        "--network",
        "none",
        "--name",
        "rz",
        "busybox",
        "sh",
    ]));
    pty.expect("# ");
    pty.send(b"stty size\r");
    pty.expect("30 100");
    pty.resize(45, 132);
    common::signal(child.id() as i32, rustix::process::Signal::WINCH);
    pty.expect("# ");
    eventually("the container's terminal to be resized", || {
        d.docker(&["exec", "rz", "stty", "-F", "/dev/pts/0", "size"])
            .stdout
            .starts_with(b"45 132")
    });
    pty.send(b"stty size\r");
    pty.expect("45 132");

    // docker exec -it: the same for the exec's own terminal.
    let mut epty = Pty::new(20, 70);
    let mut exec = epty.spawn(d.docker_cmd(&["exec", "-it", "rz", "sh"]));
    epty.expect("# ");
    epty.send(b"stty size\r");
    epty.expect("20 70");
    epty.resize(25, 90);
    common::signal(exec.id() as i32, rustix::process::Signal::WINCH);
    std::thread::sleep(std::time::Duration::from_millis(300));
    epty.send(b"stty size\r");
    epty.expect("25 90");
    epty.send(b"exit\r");
    assert_eq!(wait_exit(&mut exec).code(), Some(0));

    // POST /containers/{id}/resize, as SDKs call it.
    let (code, _) = call(&d.socket(), "POST", "/containers/rz/resize?h=33&w=111", "");
    assert_eq!(code, 200);
    assert_eq!(
        d.ok(&["exec", "rz", "stty", "-F", "/dev/pts/0", "size"]),
        "33 111"
    );
    // POST /exec/{id}/resize on a running tty exec.
    let (_, body) = call(
        &d.socket(),
        "POST",
        "/containers/rz/exec",
        r#"{"Cmd":["sh"],"Tty":true,"AttachStdin":true,"AttachStdout":true}"#,
    );
    let exec_id = body["Id"].as_str().unwrap().to_string();
    let mut s = hijack(
        &d.socket(),
        &format!("/exec/{exec_id}/start"),
        r#"{"Detach":false,"Tty":true}"#,
    );
    s.write_all(b"echo up-$((1+1))\n").unwrap();
    assert!(contains(&read_until(&mut s, b"up-2"), b"up-2"));
    let (code, _) = call(
        &d.socket(),
        "POST",
        &format!("/exec/{exec_id}/resize?h=12&w=34"),
        "",
    );
    assert_eq!(code, 200);
    s.write_all(b"stty size\n").unwrap();
    assert!(contains(&read_until(&mut s, b"12 34"), b"12 34"));
    s.write_all(b"exit\n").unwrap();
    let _ = read_to_eof(&mut s);

    pty.send(b"exit\r");
    assert_eq!(wait_exit(&mut child).code(), Some(0));
}

#[test]
fn run_it_detaches_and_docker_attach_finds_the_same_shell() {
    let d = Daemon::start();
    let mut pty = Pty::new(24, 80);
    let mut run = pty.spawn(d.docker_cmd(&[
        "run",
        "-it",
        "--network",
        "none",
        "--name",
        "keep",
        "busybox",
        "sh",
    ]));
    pty.expect("# ");
    pty.send(b"marker=first-$((1+1))\r");
    pty.expect("# ");
    pty.send(b"\x10\x11");
    assert_eq!(wait_exit(&mut run).code(), Some(0));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        running(&d, "keep"),
        "the shell ended when the client detached"
    );
    let mut again = Pty::new(24, 80);
    let mut attach = again.spawn(d.docker_cmd(&["attach", "keep"]));
    std::thread::sleep(std::time::Duration::from_millis(500));
    again.send(b"echo $marker\r");
    again.expect("first-2");
    again.send(b"exit\r");
    assert_eq!(wait_exit(&mut attach).code(), Some(0));
}
