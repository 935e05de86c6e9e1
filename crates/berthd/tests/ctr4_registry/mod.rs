//! Debian's `docker-registry` (distribution 2.8: a registry no one here wrote) on a free
//! loopback port with its own storage; killed and removed on drop.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct DockerRegistry {
    child: Child,
    _dir: tempfile::TempDir,
    /// `127.0.0.1:<port>`
    pub addr: String,
}

impl DockerRegistry {
    pub fn start() -> DockerRegistry {
        let program = berth_testutil::require_program("docker-registry");
        let dir = tempfile::Builder::new()
            .prefix(&format!("ctr4-registry-{}-", std::process::id()))
            .tempdir_in("/tmp")
            .expect("temp dir");
        // Bound then released: docker-registry takes the port a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
                dir.path().join("data").display()
            ),
        )
        .expect("registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(program)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let registry = DockerRegistry {
            child,
            _dir: dir,
            addr,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.addr).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
