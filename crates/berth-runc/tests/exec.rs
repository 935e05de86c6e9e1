//! `exec` into a running container: output, exit code, detach with pid file, user override.

mod common;

use common::{Ctr, stderr, stdout};

fn running(args: &[&str]) -> Ctr {
    let c = Ctr::new(args);
    c.create();
    c.ok(&["start", &c.id]);
    c
}

#[test]
fn exec_sees_the_containers_namespaces_and_returns_its_exit_code() {
    let mut c = Ctr::new(&["sleep", "30"]);
    c.edit(|s| s["hostname"] = "exec-host".into());
    c.create();
    c.ok(&["start", &c.id]);
    let out = c.runc(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "exec-host");
    assert_eq!(
        lines[1].trim(),
        "sleep 30",
        "pid 1 must be the container's init: {text}"
    );
}

#[test]
fn exec_detach_writes_the_pid_file() {
    let c = running(&["sleep", "30"]);
    let pid_file = c.root.path().join("exec.pid");
    c.ok(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &c.id,
        "sleep",
        "20",
    ]);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, "sleep\u{0}20\u{0}");
    let ps: Vec<i32> = serde_json::from_str(&c.ok(&["ps", "--format", "json", &c.id])).unwrap();
    assert!(
        ps.contains(&pid),
        "exec'd pid {pid} not in the container's cgroup: {ps:?}"
    );
    c.ok(&["delete", "--force", &c.id]);
    c.assert_gone(Some(pid));
}

#[test]
fn exec_with_user_env_and_cwd() {
    let c = running(&["sleep", "30"]);
    let out = c.runc(&[
        "exec",
        "--user",
        "1000:1001",
        "--env",
        "FOO=bar",
        "--cwd",
        "/tmp",
        &c.id,
        "sh",
        "-c",
        "id -u; id -g; echo $FOO; pwd",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "1000\n1001\nbar\n/tmp\n");
}

#[test]
fn exec_missing_program_fails_with_127() {
    let c = running(&["sleep", "30"]);
    let out = c.runc(&["exec", &c.id, "no-such-program"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn exec_process_file() {
    let c = running(&["sleep", "30"]);
    let process = serde_json::json!({
        "terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "echo from-file"],
        "env": ["PATH=/bin:/usr/bin"], "cwd": "/"
    });
    let path = c.root.path().join("process.json");
    std::fs::write(&path, process.to_string()).unwrap();
    let out = c.ok(&["exec", "--process", path.to_str().unwrap(), &c.id]);
    assert_eq!(out, "from-file\n");
}

#[test]
fn exec_preserve_fds_passes_descriptor_3_and_closes_the_rest() {
    let c = running(&["sleep", "30"]);
    let log = c.root.path().join("exec-fd3.log");
    let other = c.root.path().join("exec-fd4.log");
    // fd 4 is open in the caller but not preserved: the process must not see it.
    let script = format!(
        "exec 3>{} 4>{}; exec {} --root {} exec --preserve-fds 1 {} sh -c 'echo via-fd3 >&3; echo leaked >&4 || echo fd4-closed >&3'",
        log.display(),
        other.display(),
        common::BIN,
        c.root.path().display(),
        c.id
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &script]);
    let out = common::run_to_files(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "via-fd3\nfd4-closed\n"
    );
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "");
}
