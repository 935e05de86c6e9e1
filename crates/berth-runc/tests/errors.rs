//! Failures: messages naming the problem, non-zero exit, and nothing left behind.

mod common;

use common::{Ctr, stderr};

fn create_fails(c: &Ctr) -> String {
    let out = c.runc(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        &c.id,
    ]);
    assert!(!out.status.success(), "create unexpectedly succeeded");
    c.assert_gone(None);
    stderr(&out)
}

#[test]
fn missing_binary_is_127_with_a_clear_message() {
    let c = Ctr::new(&["no-such-binary", "x"]);
    let out = c.runc(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        &c.id,
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("executable file not found in $PATH"),
        "{}",
        stderr(&out)
    );
    c.assert_gone(None);
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    c.assert_gone(None);
}

#[test]
fn not_executable_is_126() {
    let c = Ctr::new(&["/etc/passwd"]);
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    c.assert_gone(None);
}

#[test]
fn empty_args_names_process_args() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| s["process"]["args"] = serde_json::json!([]));
    assert!(create_fails(&c).contains("process.args"));
}

#[test]
fn wrong_type_names_the_field() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| s["process"]["cwd"] = serde_json::json!(42));
    let err = create_fails(&c);
    assert!(err.contains("process.cwd"), "{err}");
}

#[test]
fn duplicate_namespace_is_rejected() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "pid"}))
    });
    let err = create_fails(&c);
    assert!(
        err.contains("linux.namespaces") && err.contains("twice"),
        "{err}"
    );
}

#[test]
fn missing_rootfs_names_root_path() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| s["root"]["path"] = "does-not-exist".into());
    assert!(create_fails(&c).contains("root.path"));
}

#[test]
fn bad_oci_version_and_relative_cwd() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| s["ociVersion"] = "2.0.0".into());
    assert!(create_fails(&c).contains("ociVersion"));
    c.edit(|s| {
        s["ociVersion"] = "1.0.2".into();
        s["process"]["cwd"] = "relative".into();
    });
    assert!(create_fails(&c).contains("process.cwd"));
}

#[test]
fn invalid_container_id() {
    let c = Ctr::new(&["true"]);
    let out = c.runc(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        "../escape",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid container id"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn failure_inside_init_cleans_up() {
    // A mount of an unknown filesystem type fails in the init, after clone and cgroups.
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| {
        s["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/bogus", "type": "no-such-fs", "source": "none"
        }))
    });
    let err = create_fails(&c);
    assert!(
        err.contains("/bogus") || err.contains("no-such-fs"),
        "{err}"
    );
}

#[test]
fn failure_in_the_mounts_made_before_go_is_reported_and_cleaned_up() {
    // Mounts ahead of the cgroup mount are made while the parent still sets up the cgroup:
    // their failure must still reach the caller as the init's error.
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| {
        s["mounts"].as_array_mut().unwrap().insert(
            0,
            serde_json::json!({"destination": "/bogus", "type": "no-such-fs", "source": "none"}),
        )
    });
    let err = create_fails(&c);
    assert!(
        err.contains("/bogus") && err.contains("no-such-fs"),
        "{err}"
    );
}

#[test]
fn a_failed_namespace_join_is_reported_and_cleaned_up() {
    // Joined namespaces are entered by an intermediate process before it clones the init:
    // berth-runc's own (the init execs through the trampoline), or, when the PID namespace
    // is shared too, the spawner's (a read-only exec of berth-runc). Joining a UTS namespace
    // as the IPC one fails there, and must reach the caller either way.
    for share_pid_namespace in [false, true] {
        let mut c = Ctr::new(&["true"]);
        c.edit(|s| {
            let namespaces = s["linux"]["namespaces"].as_array_mut().unwrap();
            namespaces.retain(|ns| ns["type"] != "ipc");
            namespaces.push(serde_json::json!({"type": "ipc", "path": "/proc/self/ns/uts"}));
            if share_pid_namespace {
                namespaces.retain(|ns| ns["type"] != "pid");
                namespaces.push(serde_json::json!({"type": "pid", "path": "/proc/self/ns/pid"}));
            }
        });
        let err = create_fails(&c);
        assert!(err.contains("setns into ipc namespace"), "{err}");
        assert_eq!(err.contains("spawner"), share_pid_namespace, "{err}");
    }
}
