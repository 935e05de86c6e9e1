//! OCI hooks (order, state on stdin) and terminals (console socket, foreground pty proxy).

mod common;

use std::io::Read;
use std::os::unix::net::UnixListener;

use common::{Ctr, stderr, stdout};
use serde_json::json;

#[test]
fn hooks_run_in_oci_order_with_the_state_on_stdin() {
    let mut c = Ctr::new(&["true"]);
    let log = tempfile::tempdir().unwrap();
    let dir = log.path().to_str().unwrap().to_string();
    let host_hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {dir}/{name}.json; echo {name} >> {dir}/order")]});
    // startContainer runs inside the container (after pivot): its path and files are the
    // container's, so the log dir is bind-mounted at /hooklog.
    let in_container = json!({"path": "/bin/sh", "args": ["sh", "-c", "cat > /hooklog/startContainer.json; echo startContainer >> /hooklog/order"]});
    c.edit(|s| {
        s["hooks"] = json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            "startContainer": [in_container],
            "poststart": [host_hook("poststart")],
            "poststop": [host_hook("poststop")],
        });
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/hooklog", "type": "bind", "source": dir, "options": ["rbind", "rw"]
        }));
    });
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let order = std::fs::read_to_string(log.path().join("order")).unwrap();
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    for name in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let text = std::fs::read_to_string(log.path().join(format!("{name}.json"))).unwrap();
        let state: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text:?}"));
        assert_eq!(state["id"], c.id.as_str(), "{name}: {state}");
        assert!(state["pid"].as_i64().unwrap() > 0, "{name}: {state}");
        assert_eq!(
            state["bundle"],
            c.bundle_path().canonicalize().unwrap().to_str().unwrap()
        );
    }
    let poststop: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log.path().join("poststop.json")).unwrap()).unwrap();
    assert_eq!(poststop["status"], "stopped");
    c.assert_gone(None);
}

#[test]
fn failing_create_runtime_hook_fails_create_and_cleans_up() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| s["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]}));
    let out = c.runc(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        &c.id,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("createRuntime"), "{}", stderr(&out));
    c.assert_gone(None);
}

#[test]
fn console_socket_receives_the_pty_master() {
    let mut c = Ctr::new(&["sh", "-c", "tty; echo hello-from-tty"]);
    c.edit(|s| s["process"]["terminal"] = true.into());
    let sock_dir = tempfile::tempdir().unwrap();
    let sock = sock_dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    c.ok(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        &c.id,
    ]);
    let master = berth_runtime::process::console::recv_master(&listener).expect("pty master");
    c.ok(&["start", &c.id]);
    let mut file = std::fs::File::from(master);
    let mut text = String::new();
    let mut buf = [0u8; 1024];
    // Reading the master ends with EIO once the slave side is closed.
    while let Ok(n) = file.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(text.contains("/dev/pts/"), "tty output: {text:?}");
    assert!(text.contains("hello-from-tty"), "tty output: {text:?}");
}

#[test]
fn terminal_without_console_socket_requires_one_for_create() {
    let mut c = Ctr::new(&["true"]);
    c.edit(|s| s["process"]["terminal"] = true.into());
    let out = c.runc(&[
        "create",
        "--bundle",
        c.bundle_path().to_str().unwrap(),
        &c.id,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("console-socket"), "{}", stderr(&out));
    c.assert_gone(None);
}

#[test]
fn foreground_run_proxies_the_pty_to_stdout() {
    let mut c = Ctr::new(&["sh", "-c", "tty; echo proxied; exit 3"]);
    c.edit(|s| s["process"]["terminal"] = true.into());
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("/dev/pts/0") && text.contains("proxied"),
        "{text:?}"
    );
    c.assert_gone(None);
}
