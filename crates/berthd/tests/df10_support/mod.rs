//! Helpers for the df10 tests: one raw API call, and the `berth` CLI against a test daemon.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::Daemon;

/// One HTTP/1.1 request on the daemon's socket; the status and the body as JSON (`Null`
/// when it is not JSON).
pub fn api(d: &Daemon, method: &str, path: &str) -> (u16, serde_json::Value) {
    let mut stream = std::os::unix::net::UnixStream::connect(d.socket()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: berthd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read reply");
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "expected a sized body: {head}"
    );
    (status, serde_json::from_str(body).unwrap_or_default())
}

/// `berth` (built beside berthd: `cargo build -p berth-cli`) against this daemon.
pub fn berth(d: &Daemon, args: &[&str]) -> Output {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth");
    assert!(
        binary.is_file(),
        "{} is missing: build it first (cargo build -p berth-cli)",
        binary.display()
    );
    Command::new(binary)
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", d.socket().display()))
        .env_remove("BERTH_HOST")
        .stdin(Stdio::null())
        .output()
        .expect("run berth")
}

/// stdout of a successful `berth` run.
pub fn berth_ok(d: &Daemon, args: &[&str]) -> String {
    let out = berth(d, args);
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout of a successful `docker` run, untrimmed (for byte comparisons).
pub fn docker_raw(d: &Daemon, args: &[&str]) -> String {
    let out = d.docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A build with the classic builder (as the other build tests do), its output asserted ok.
pub fn build(d: &Daemon, dir: &std::path::Path, tag: &str) {
    let mut cmd = d.docker_cmd(&["build", "-t", tag, &dir.to_string_lossy()]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().expect("run docker build");
    assert!(
        out.status.success(),
        "docker build failed: {}\n{}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        d.log()
    );
}
