//! Small helpers for network tests: free host ports, subnets and names of a test's own, and
//! host command output.

use std::net::TcpListener;
use std::process::Command;

/// A host port nobody holds right now.
pub fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    probe.local_addr().expect("probe address").port()
}

/// A subnet and names of our own (`net6` + pid + `tag`), so parallel tests do not collide.
pub fn unique_net(tag: u32) -> (String, String) {
    let pid = std::process::id();
    (
        format!("10.{}.{}.0/24", 180 + tag, pid % 250),
        format!("net6-{tag}-{pid}"),
    )
}

/// `program`'s stdout (whatever its status).
pub fn run_text(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
