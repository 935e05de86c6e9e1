//! login → push → rmi → pull → logout through dockerd against `berth registry serve` on
//! loopback, with the credentials kept in Docker's config.json format.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use common::{BUSYBOX, Dockerd, ok};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn login_push_pull_logout() {
    let d = Dockerd::start("registry");
    let root = tempfile::tempdir().unwrap();
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["registry", "serve", "--addr", "127.0.0.1:0", "--root"])
            .arg(root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn berth registry serve (needs berth-registry built)"),
    );
    let addr = BufReader::new(server.0.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("127.0.0.1:"))
                .map(str::to_owned)
        })
        .expect("the registry printed no address");

    let mut login = d
        .berth_cmd(&["login", "-u", "alice", "--password-stdin", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    login.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    assert_eq!(ok(login.wait_with_output().unwrap()), "Login Succeeded\n");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.config_dir().join("config.json")).unwrap())
            .unwrap();
    // base64("alice:s3cret")
    assert_eq!(config["auths"][&addr]["auth"], "YWxpY2U6czNjcmV0");

    let image = format!("{addr}/berth-cli/bb:1");
    ok(d.berth(&["tag", BUSYBOX, &image]));
    let pushed = ok(d.berth(&["push", &image]));
    assert!(pushed.contains(": Pushed\n"), "{pushed}");
    assert!(pushed.contains("1: digest: sha256:"), "{pushed}");
    ok(d.berth(&["rmi", &image]));
    let pulled = ok(d.berth(&["pull", &image]));
    assert!(
        pulled.ends_with(&format!(
            "Status: Downloaded newer image for {image}\n{image}\n"
        )),
        "{pulled}"
    );
    let ran = ok(d.berth(&["run", "--rm", "--network", "none", &image, "echo", "pulled"]));
    assert_eq!(ran, "pulled\n");

    // `run` of a missing image pulls it first, reporting on stderr as docker does.
    ok(d.berth(&["rmi", &image]));
    let out = d.berth(&["run", "--rm", "--network", "none", &image, "echo", "auto"]);
    let err = common::stderr(&out);
    assert_eq!(ok(out), "auto\n");
    assert!(
        err.starts_with(&format!("Unable to find image '{image}' locally\n")),
        "{err}"
    );
    assert!(err.contains("Status: Downloaded newer image"), "{err}");

    assert_eq!(
        ok(d.berth(&["logout", &addr])),
        format!("Removing login credentials for {addr}\n")
    );
    assert_eq!(
        ok(d.berth(&["logout", &addr])),
        format!("Not logged in to {addr}\n")
    );
}
