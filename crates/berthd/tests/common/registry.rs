//! A private `berth-registry serve` (built beside berthd) on a free loopback port, killed on
//! drop. Its output goes to a file (it logs every request), so it never blocks on a full pipe.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Registry {
    /// Storage and output under `dir`; `extra` are more `serve` arguments (`--auth …`).
    pub fn start(dir: &Path, extra: &[&str]) -> Registry {
        let binary = Path::new(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth-registry");
        assert!(
            binary.is_file(),
            "{} is missing: cargo build --bins",
            binary.display()
        );
        let out_path = dir.join("registry.out");
        let out = std::fs::File::create(&out_path).expect("registry output");
        let child = Command::new(binary)
            .args(["serve", "--addr", "127.0.0.1:0", "--root"])
            .arg(dir.join("registry"))
            .args(extra)
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .expect("spawn berth-registry");
        let mut registry = Registry {
            child,
            addr: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
                registry.addr = addr.trim().to_string();
                return registry;
            }
            assert!(
                Instant::now() < deadline,
                "berth-registry did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
