//! `berth registry serve` runs the registry server (the `berth-registry` program beside `berth`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn berth_registry_serve_answers_the_distribution_api() {
    let berth = env!("CARGO_BIN_EXE_berth");
    let registry = std::path::Path::new(berth).with_file_name("berth-registry");
    assert!(
        registry.is_file(),
        "{} must be built first (`cargo test --workspace` or `cargo build --bins` does)",
        registry.display()
    );
    let root = tempfile::tempdir().unwrap();
    let mut server = KillOnDrop(
        Command::new(berth)
            .args(["registry", "serve", "--addr", "127.0.0.1:0", "--root"])
            .arg(root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn berth registry serve"),
    );
    // The server prints the address it bound (port 0 picks a free one).
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("127.0.0.1:"))
                .map(str::to_owned)
        })
        .expect("berth registry serve printed no listen address");
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("docker-distribution-api-version: registry/2.0"),
        "{reply}"
    );
}

#[test]
fn unknown_subcommands_are_refused_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'frobnicate'"));
}
