//! The real `berth-shim` binary supervising real containers (root, namespaces, cgroups).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn logs_stdout_and_stderr_as_json_file_and_records_exit_code() {
    let b = bundle(&[
        "sh",
        "-c",
        "echo out1; echo err1 >&2; printf partial; exit 3",
    ]);
    let shim = start("logs", &b, &[]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    let exit = shim.wait_exit(EXIT_TIMEOUT);
    assert_eq!((exit.exit_code, exit.signal), (3, None));
    assert!(!exit.oom_killed);
    assert_timestamp(&exit.finished_at);
    let entries = shim.log_entries();
    let by_text = |text: &str| {
        entries
            .iter()
            .find(|e| e["log"] == text)
            .unwrap_or_else(|| panic!("no {text:?} in {entries:?}"))
    };
    assert_eq!(by_text("out1\n")["stream"], "stdout");
    assert_eq!(by_text("err1\n")["stream"], "stderr");
    assert_eq!(by_text("partial")["stream"], "stdout");
    for e in &entries {
        assert_timestamp(e["time"].as_str().expect("time is a string"));
    }
    // Deleted: no runtime state left, sockets gone.
    assert!(!shim.runtime_root().join(&shim.id).exists());
    assert!(!shim.state_dir().join("control.sock").exists());
}

#[test]
fn kill_through_control_socket_gives_128_plus_signal() {
    let b = bundle(&["sleep", "30"]);
    let shim = start("kill", &b, &[]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    let state = shim.control(r#"{"state":true}"#);
    assert_eq!(state["status"], "running");
    assert_eq!(state["pid"].as_i64(), Some(i64::from(shim.pid())));
    assert_eq!(shim.control(r#"{"kill":9}"#)["ok"], true);
    let exit = shim.wait_exit(EXIT_TIMEOUT);
    assert_eq!((exit.exit_code, exit.signal), (137, Some(9)));
    assert!(
        proc_state(shim.pid()).is_none(),
        "container init still exists"
    );
}

#[test]
fn survives_its_parent_and_still_records_the_exit() {
    let b = bundle(&["sh", "-c", "sleep 2; exit 7"]);
    // The intermediate shell runs the starter and exits.
    let shim = start_via("orphan", &b, &[], Some("\"$@\"; exit 0"));
    let shim_pid = shim.shim_pid();
    let (_, ppid) = proc_state(shim_pid).expect("shim alive after its starter exited");
    assert_ne!(ppid, std::process::id() as i32);
    let sid = |pid: i32| session_of(pid).expect("session of a live process");
    assert_ne!(
        sid(shim_pid),
        sid(std::process::id() as i32),
        "shim shares our session"
    );
    assert_eq!(shim.control(r#"{"state":true}"#)["status"], "running");
    let exit = shim.wait_exit(EXIT_TIMEOUT);
    assert_eq!(exit.exit_code, 7);
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_state(shim_pid).is_some_and(|(s, _)| s != 'Z') {
        assert!(
            Instant::now() < deadline,
            "shim did not exit after the container"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn rotates_logs_and_keeps_at_most_max_files() {
    let script = "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done";
    let b = bundle(&["sh", "-c", script]);
    let shim = start(
        "rotate",
        &b,
        &["--log-max-size", "1000", "--log-max-files", "3"],
    );
    assert_eq!(shim.status, 0, "report {}", shim.report);
    assert_eq!(shim.wait_exit(EXIT_TIMEOUT).exit_code, 0);
    let log = shim.log_path();
    let numbered = |n: u32| std::path::PathBuf::from(format!("{}.{n}", log.display()));
    assert!(numbered(1).exists() && numbered(2).exists(), "no rotation");
    assert!(!numbered(3).exists(), "more than max-files files");
    for path in [log.clone(), numbered(1), numbered(2)] {
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 1000, "{} is {size} bytes", path.display());
        read_log(&path);
    }
    let last = shim.log_entries();
    assert_eq!(last.last().unwrap()["log"], "line-299\n");
}

/// Reads Docker-multiplexed frames until EOF.
fn read_frames(mut stream: UnixStream) -> Vec<(u8, String)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut frames = Vec::new();
    loop {
        let mut header = [0u8; 8];
        if stream.read_exact(&mut header).is_err() {
            return frames;
        }
        assert_eq!(&header[1..4], &[0, 0, 0], "bad header {header:?}");
        let len = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).expect("frame payload");
        frames.push((header[0], String::from_utf8(payload).unwrap()));
    }
}

fn concat(frames: &[(u8, String)], stream: u8) -> String {
    frames
        .iter()
        .filter(|(s, _)| *s == stream)
        .map(|(_, p)| p.as_str())
        .collect()
}

#[test]
fn attach_socket_streams_framed_live_output() {
    let b = bundle(&["sh", "-c", "sleep 1; echo hello; echo oops >&2; sleep 0.5"]);
    let shim = start("attach", &b, &[]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    let first = UnixStream::connect(shim.state_dir().join("attach.sock")).unwrap();
    let second = UnixStream::connect(shim.state_dir().join("attach.sock")).unwrap();
    let frames = read_frames(first);
    assert_eq!(concat(&frames, 1), "hello\n");
    assert_eq!(concat(&frames, 2), "oops\n");
    assert_eq!(concat(&read_frames(second), 1), "hello\n");
    assert_eq!(shim.wait_exit(EXIT_TIMEOUT).exit_code, 0);
}

#[test]
fn stdin_passes_through_and_close_stdin_ends_it() {
    let b = bundle(&["sh", "-c", "read first; echo got:$first; cat; echo done"]);
    let shim = start("stdin", &b, &["--stdin"]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    let mut attach = UnixStream::connect(shim.state_dir().join("attach.sock")).unwrap();
    attach.write_all(b"ping\nrest\n").unwrap();
    // Let the data reach the container before closing its stdin.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(shim.control(r#"{"close_stdin":true}"#)["ok"], true);
    let frames = read_frames(attach);
    assert_eq!(concat(&frames, 1), "got:ping\nrest\ndone\n");
    assert_eq!(shim.wait_exit(EXIT_TIMEOUT).exit_code, 0);
}

#[test]
fn tty_mode_gives_the_container_a_terminal() {
    let mut b = bundle(&[
        "sh",
        "-c",
        "sleep 0.5; [ -t 0 ] && [ -t 1 ] && echo tty-yes; stty size",
    ]);
    with_terminal(&mut b);
    let shim = start("tty", &b, &["--tty"]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    assert_eq!(shim.control(r#"{"resize":[33,101]}"#)["ok"], true);
    let attach = UnixStream::connect(shim.state_dir().join("attach.sock")).unwrap();
    let mut raw = String::new();
    let mut attach = attach;
    attach
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = attach.read_to_string(&mut raw);
    assert_eq!(shim.wait_exit(EXIT_TIMEOUT).exit_code, 0);
    let logged: String = shim
        .log_entries()
        .iter()
        .inspect(|e| assert_eq!(e["stream"], "stdout"))
        .map(|e| e["log"].as_str().unwrap().to_string())
        .collect();
    assert!(logged.contains("tty-yes"), "log: {logged:?}");
    assert!(logged.contains("33 101"), "resize not seen: {logged:?}");
    // Raw (unframed) bytes on the attach socket with a tty.
    assert!(raw.contains("tty-yes\r\n"), "attach: {raw:?}");
}

#[test]
fn failed_create_reports_the_error_and_leaves_nothing() {
    let b = bundle(&["/no/such/binary"]);
    let shim = start("fail", &b, &[]);
    assert_eq!(shim.status, 127, "report {}", shim.report);
    let message = shim.report["error"].as_str().expect("error message");
    assert!(message.contains("/no/such/binary"), "{message}");
    assert!(!shim.runtime_root().join(&shim.id).exists());
    for controller in ["memory", "pids", "cpu", "freezer"] {
        let cgroup = std::path::Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(&shim.id);
        assert!(!cgroup.exists(), "{} left behind", cgroup.display());
    }
    // No process of ours (the shim's argv carries the unique id) is left.
    std::thread::sleep(Duration::from_millis(200));
    let leftovers: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(shim.id.len()).any(|w| w == shim.id.as_bytes()))
        })
        .collect();
    assert!(leftovers.is_empty(), "processes left: {leftovers:?}");
    assert!(!shim.state_dir().join("control.sock").exists());
}

#[test]
fn reaps_orphaned_grandchildren() {
    // The inner shell exits at once; its two sleeps are orphaned and (no pid namespace)
    // reparented to the shim, the subreaper.
    let mut b = bundle(&["sh", "-c", "sh -c 'sleep 1.5 & sleep 1.5 &'; sleep 4"]);
    without_pid_namespace(&mut b);
    let shim = start("reap", &b, &[]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    let shim_pid = shim.shim_pid();
    let started = Instant::now();
    let adopted = || -> Vec<(i32, char)> {
        children_of(shim_pid)
            .into_iter()
            .filter(|(pid, _)| *pid != shim.pid())
            .collect()
    };
    while adopted().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_millis(1400),
            "orphans not reparented to the shim: {:?}",
            adopted()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The sleeps ended ~1.5 s in; the shim must have reaped them (no zombies left).
    std::thread::sleep(Duration::from_millis(2500).saturating_sub(started.elapsed()));
    let zombies: Vec<_> = children_of(shim_pid)
        .into_iter()
        .filter(|(_, state)| *state == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombies under the shim: {zombies:?}");
    assert_eq!(shim.wait_exit(EXIT_TIMEOUT).exit_code, 0);
}

#[test]
fn a_slow_attacher_is_dropped_and_never_blocks_the_container() {
    let lines = 50_000;
    let script = format!("yes 0123456789012345678901234567890123456789 | head -n {lines}");
    let b = bundle(&["sh", "-c", &script]);
    let shim = start("slow", &b, &[]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    // Connected but never reading while the container writes ~2 MB.
    let mut slow = UnixStream::connect(shim.state_dir().join("attach.sock")).unwrap();
    let exit = shim.wait_exit(EXIT_TIMEOUT);
    assert_eq!(exit.exit_code, 0);
    assert_eq!(shim.log_entries().len(), lines, "log lost lines");
    let mut received = Vec::new();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // EOF (or a reset, had it never been accepted): either way it no longer gets output.
    let _ = slow.read_to_end(&mut received);
    assert!(
        received.len() < lines * 41,
        "the slow attacher got everything ({} bytes): it was never dropped",
        received.len()
    );
}
