use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

fn line(text: &str, stream: &str, secs: i64) -> String {
    let time = berth_oci::time::format_rfc3339(secs).replace('Z', ".5Z");
    format!(
        "{}\n",
        serde_json::json!({"log": format!("{text}\n"), "stream": stream, "time": time})
    )
}

/// A log with two rotated files: `.2` holds 0..3, `.1` holds 3..6, the live file 6..9; odd
/// lines are stderr; line i was written at second 1000 + i.
fn rotated_log(dir: &Path) -> PathBuf {
    let path = dir.join("c-json.log");
    let text = |range: std::ops::Range<i64>| {
        range
            .map(|i| {
                line(
                    &format!("l{i}"),
                    if i % 2 == 0 { "stdout" } else { "stderr" },
                    1000 + i,
                )
            })
            .collect::<String>()
    };
    std::fs::write(files::numbered(&path, 2), text(0..3)).unwrap();
    std::fs::write(files::numbered(&path, 1), text(3..6)).unwrap();
    std::fs::write(&path, text(6..9)).unwrap();
    path
}

fn collect(path: &Path, opts: &LogOptions) -> Vec<String> {
    let mut out = Vec::new();
    read_logs(path, opts, &|| false, &mut |e| {
        out.push(String::from_utf8(e.line).unwrap().trim_end().to_string());
        Flow::Continue
    })
    .unwrap();
    out
}

fn both() -> LogOptions {
    LogOptions {
        stdout: true,
        stderr: true,
        ..LogOptions::default()
    }
}

#[test]
fn reads_rotated_files_in_order_and_filters_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path());
    let all: Vec<String> = (0..9).map(|i| format!("l{i}")).collect();
    assert_eq!(collect(&path, &both()), all);
    let stdout = LogOptions {
        stdout: true,
        ..LogOptions::default()
    };
    assert_eq!(collect(&path, &stdout), ["l0", "l2", "l4", "l6", "l8"]);
    assert!(matches!(
        read_logs(&path, &LogOptions::default(), &|| false, &mut |_| {
            Flow::Continue
        }),
        Err(LogsError::NoStream)
    ));
}

#[test]
fn tails_across_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path());
    let tail = |n| {
        collect(
            &path,
            &LogOptions {
                tail: Some(n),
                ..both()
            },
        )
    };
    assert_eq!(tail(2), ["l7", "l8"]);
    assert_eq!(tail(5), ["l4", "l5", "l6", "l7", "l8"]);
    assert_eq!(tail(0), Vec::<String>::new());
    assert_eq!(tail(100).len(), 9);
}

#[test]
fn filters_by_since_and_until() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path());
    // Line i is at 1000 + i + 0.5 s.
    let opts = LogOptions {
        since: parse_timestamp_arg("1004"),
        until: parse_timestamp_arg("1006.6"),
        ..both()
    };
    assert_eq!(collect(&path, &opts), ["l4", "l5", "l6"]);
}

#[test]
fn follows_new_lines_and_rotation_until_the_container_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    std::fs::write(&path, line("first", "stdout", 1)).unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let writer = {
        let (path, running) = (path.clone(), running.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(120));
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            // A line written in two pieces must come out whole.
            let second = line("second", "stderr", 2);
            f.write_all(&second.as_bytes()[..10]).unwrap();
            std::thread::sleep(Duration::from_millis(120));
            f.write_all(&second.as_bytes()[10..]).unwrap();
            std::thread::sleep(Duration::from_millis(120));
            // Rotate as the shim does, leaving a line in the old file first.
            f.write_all(line("third", "stdout", 3).as_bytes()).unwrap();
            std::fs::rename(&path, files::numbered(&path, 1)).unwrap();
            std::fs::write(&path, line("fourth", "stdout", 4)).unwrap();
            std::thread::sleep(Duration::from_millis(120));
            running.store(false, Ordering::SeqCst);
        })
    };
    let mut out = Vec::new();
    let flag = running.clone();
    read_logs(
        &path,
        &LogOptions {
            follow: true,
            ..both()
        },
        &move || flag.load(Ordering::SeqCst),
        &mut |e| {
            out.push(String::from_utf8(e.line).unwrap().trim_end().to_string());
            Flow::Continue
        },
    )
    .unwrap();
    writer.join().unwrap();
    assert_eq!(out, ["first", "second", "third", "fourth"]);
}

#[test]
fn follow_stops_when_the_client_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    std::fs::write(&path, line("a", "stdout", 1) + &line("b", "stdout", 2)).unwrap();
    let mut seen = 0;
    read_logs(
        &path,
        &LogOptions {
            follow: true,
            ..both()
        },
        &|| true,
        &mut |_| {
            seen += 1;
            Flow::Stop
        },
    )
    .unwrap();
    assert_eq!(seen, 1);
}
