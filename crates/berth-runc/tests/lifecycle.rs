//! create → start → state → kill → delete, `run`, `list`, from inside and outside.

mod common;

use common::{Ctr, stderr, stdout};

#[test]
fn run_shows_pid_1_isolated_process_tree_and_hostname() {
    let mut c = Ctr::new(&["sh", "-c", "echo pid=$$; hostname; ps -o pid= | wc -l"]);
    c.edit(|s| s["hostname"] = "rtcore-host".into());
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "pid=1", "{text}");
    assert_eq!(lines[1], "rtcore-host");
    // sh (pid 1) + ps + wc: nothing of the host is visible.
    assert!(
        lines[2].trim().parse::<u32>().unwrap() <= 3,
        "host processes visible: {text}"
    );
    c.assert_gone(None);
}

/// berth-runc starts the init on another CPU than its own (see `container::placement`); the
/// container must still get exactly the CPU mask berth-runc was started with.
#[test]
fn the_container_runs_on_every_cpu_berth_runc_may_use() {
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let cpus = |status: &str| {
        status
            .lines()
            .find(|l| l.starts_with("Cpus_allowed_list:"))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert!(!cpus(&ours).is_empty(), "no Cpus_allowed_list: {ours}");
    let c = Ctr::new(&["cat", "/proc/self/status"]);
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    assert_eq!(cpus(&stdout(&out)), cpus(&ours));
}

#[test]
fn run_propagates_the_exit_code() {
    let c = Ctr::new(&["sh", "-c", "exit 7"]);
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    c.assert_gone(None);
}

#[test]
fn run_detach_starts_and_returns() {
    let c = Ctr::new(&["sleep", "30"]);
    c.ok(&[
        "run",
        "--detach",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        &c.id,
    ]);
    assert_eq!(c.status(), "running");
    c.ok(&["delete", "--force", &c.id]);
    c.assert_gone(None);
}

#[test]
fn state_goes_created_running_stopped_and_delete_cleans_up() {
    let c = Ctr::new(&["sleep", "30"]);
    let pid_file = c.root.path().join("init.pid");
    c.ok(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &c.id,
    ]);
    let state = c.state();
    assert_eq!(state["status"], "created");
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    for key in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ] {
        assert!(state.get(key).is_some(), "state lacks {key}: {state}");
    }
    assert_eq!(state["id"], c.id.as_str());
    assert_eq!(
        state["bundle"],
        c.bundle_path().canonicalize().unwrap().to_str().unwrap()
    );
    assert!(c.cgroup_dir("memory").is_dir(), "no memory cgroup");

    c.ok(&["start", &c.id]);
    assert_eq!(c.status(), "running");
    let out = c.runc(&["start", &c.id]);
    assert!(!out.status.success(), "second start must fail");

    let out = c.runc(&["delete", &c.id]);
    assert!(
        !out.status.success(),
        "delete of a running container must need --force"
    );
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));

    c.ok(&["kill", &c.id, "KILL"]);
    c.wait_status("stopped");
    assert_eq!(c.state()["pid"], 0);
    c.ok(&["delete", &c.id]);
    c.assert_gone(Some(pid));
    let out = c.runc(&["state", &c.id]);
    assert!(
        !out.status.success() && stderr(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kill_accepts_names_and_numbers() {
    let c = Ctr::new(&[
        "sh",
        "-c",
        "trap 'exit 0' USR1; while true; do sleep 0.05; done",
    ]);
    c.create();
    c.ok(&["start", &c.id]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    c.ok(&["kill", &c.id, "SIGUSR1"]);
    c.wait_status("stopped");
    let out = c.runc(&["kill", &c.id, "BOGUS"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown signal") || stderr(&out).contains("not running"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn delete_of_a_created_container_kills_its_init() {
    let c = Ctr::new(&["true"]);
    c.create();
    let pid = c.pid();
    c.ok(&["delete", &c.id]);
    c.assert_gone(Some(pid));
}

#[test]
fn list_prints_table_json_and_quiet() {
    let c = Ctr::new(&["sleep", "30"]);
    c.create();
    let json: serde_json::Value =
        serde_json::from_str(&c.ok(&["list", "--format", "json"])).unwrap();
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["id"], c.id.as_str());
    assert_eq!(arr[0]["status"], "created");
    assert!(arr[0]["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(c.ok(&["list", "-q"]).trim(), c.id);
    let table = c.ok(&["list"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], c.id);
    assert_eq!(row[2], "created");
    assert_eq!(row[5], "root");
}

#[test]
fn duplicate_id_is_refused() {
    let c = Ctr::new(&["sleep", "30"]);
    c.create();
    let out = c.runc(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        &c.id,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        c.status(),
        "created",
        "the first container must be untouched"
    );
}

#[test]
fn spec_writes_runcs_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["ociVersion"], "1.0.2-dev");
    assert_eq!(spec["process"]["args"][0], "sh");
    assert_eq!(spec["hostname"], "runc");
    assert_eq!(spec["root"]["path"], "rootfs");
    let out = std::process::Command::new(common::BIN)
        .args(["spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "spec must not overwrite config.json");
}

#[test]
fn features_and_systemd_cgroup_flag() {
    let out = std::process::Command::new(common::BIN)
        .arg("features")
        .output()
        .unwrap();
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert!(
        f["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "user")
    );
    let out = std::process::Command::new(common::BIN)
        .args(["--systemd-cgroup", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cgroupfs"));
}

#[test]
fn preserve_fds_passes_descriptor_3_to_the_container() {
    let c = Ctr::new(&["sh", "-c", "echo via-fd3 >&3"]);
    let log = c.root.path().join("fd3.log");
    let script = format!(
        "exec 3>{}; exec {} --root {} run --preserve-fds 1 --bundle {} {}",
        log.display(),
        common::BIN,
        c.root.path().display(),
        c.bundle_path().display(),
        c.id
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &script]);
    let out = common::run_to_files(cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "via-fd3\n");
}
