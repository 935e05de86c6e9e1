//! `docker network create/ls/inspect/rm/prune` with the real docker CLI against
//! target/debug/berthd (build it first: `cargo build -p berthd`). Root; the daemon gets its own
//! socket, data root and exec root, hence its own nftables table and bridge names.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use berth_engine::Paths;
use berth_engine::network::NetworkService;

struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Daemon {
    fn start() -> Daemon {
        let berthd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/berthd");
        assert!(
            berthd.is_file(),
            "{} is missing: run `cargo build -p berthd` first",
            berthd.display()
        );
        assert!(
            Path::new("/usr/local/bin/docker").is_file(),
            "the docker CLI is required"
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-net-api")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("berthd.sock");
        let child = Command::new(berthd)
            .arg("-H")
            .arg(&socket)
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("run"))
            .spawn()
            .expect("start berthd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "berthd did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Daemon { child, dir, socket }
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
            .expect("run docker")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The daemon's bridges and table, found from its own saved state.
        let paths = Paths::new(self.dir.path().join("data"), self.dir.path().join("run"));
        if let Ok(service) = NetworkService::open(&paths) {
            let result = service.teardown_all();
            if !std::thread::panicking() {
                result.expect("tear down the daemon's networks");
            }
        }
    }
}

#[test]
fn docker_network_create_ls_inspect_rm_prune() {
    let daemon = Daemon::start();
    let name = format!("berthnet-api-{}", std::process::id());
    let subnet = format!("10.216.{}.0/24", std::process::id() % 250);

    let listed = daemon.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    for expected in ["bridge bridge", "host host", "none null"] {
        assert!(listed.lines().any(|l| l == expected), "{listed}");
    }

    let id = daemon.ok(&[
        "network",
        "create",
        "--subnet",
        &subnet,
        "--label",
        "test=berth",
        &name,
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let again = daemon.docker(&["network", "create", &name]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let inspected = daemon.ok(&[
        "network",
        "inspect",
        "--format",
        "{{.Id}} {{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{.Labels.test}}",
        &name,
    ]);
    assert_eq!(inspected.trim(), format!("{id} bridge {subnet} berth"));

    let filtered = daemon.ok(&[
        "network",
        "ls",
        "-q",
        "--no-trunc",
        "--filter",
        "label=test=berth",
    ]);
    assert_eq!(filtered.trim(), id);

    let ipv6 = daemon.docker(&["network", "create", "--ipv6", &format!("{name}-v6")]);
    assert!(!ipv6.status.success());
    let rm_builtin = daemon.docker(&["network", "rm", "bridge"]);
    assert!(String::from_utf8_lossy(&rm_builtin.stderr).contains("pre-defined network"));

    daemon.ok(&["network", "rm", &name]);
    let after = daemon.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!after.lines().any(|l| l == name), "{after}");

    let subnet = format!("10.217.{}.0/24", std::process::id() % 250);
    daemon.ok(&[
        "network",
        "create",
        "--subnet",
        &subnet,
        &format!("{name}-p"),
    ]);
    let pruned = daemon.ok(&["network", "prune", "-f"]);
    assert!(pruned.contains(&format!("{name}-p")), "{pruned}");
    let missing = daemon.docker(&["network", "inspect", &format!("{name}-p")]);
    assert!(!missing.status.success());
}
