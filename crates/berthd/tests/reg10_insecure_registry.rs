//! `berthd --insecure-registry`: Debian's `docker-registry` (plain HTTP) on an address of a
//! link this test creates (a bridge: this kernel has no `dummy` module) (not loopback, so not insecure by default). Without the
//! flag a push and a pull fail with an error that names the fix; with `host:port` or a CIDR
//! range they work; `docker info` reports the configuration as dockerd does.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A link of our own (an empty bridge) with one /32 address, deleted on drop.
struct OwnLink {
    name: String,
    addr: String,
}

impl OwnLink {
    /// `which` (0 or 1) keeps the links of this binary's tests apart.
    fn create(which: u32) -> OwnLink {
        berth_testutil::require_root();
        let pid = std::process::id();
        let link = OwnLink {
            name: format!("brt{pid}{which}"),
            addr: format!(
                "10.213.{}.{}",
                (pid >> 8) % 256,
                (pid % 120) * 2 + 2 + which
            ),
        };
        ip(&["link", "add", &link.name, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("{}/32", link.addr),
            "dev",
            &link.name,
        ]);
        ip(&["link", "set", &link.name, "up"]);
        link
    }
}

impl Drop for OwnLink {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docker-registry` on `addr:<free port>`, plain HTTP or TLS with a self-signed
/// certificate; killed on drop.
struct PlainRegistry {
    child: Child,
    _dir: tempfile::TempDir,
    /// `10.213.x.y:port`
    domain: String,
}

impl PlainRegistry {
    fn start(addr: &str, tls: bool) -> PlainRegistry {
        let program = berth_testutil::require_program("docker-registry");
        let dir = tempfile::Builder::new()
            .prefix(&format!("reg10-registry-{}-", std::process::id()))
            .tempdir_in("/tmp")
            .expect("temp dir");
        let port = TcpListener::bind(format!("{addr}:0"))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let domain = format!("{addr}:{port}");
        let config = dir.path().join("config.yml");
        let mut text = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {domain}\n",
            dir.path().join("data").display()
        );
        if tls {
            let (cert, key) = self_signed(dir.path(), addr);
            text.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        std::fs::write(&config, text).expect("registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(program)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let registry = PlainRegistry {
            child,
            _dir: dir,
            domain,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.domain).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

/// A certificate for `ip` that nothing trusts.
fn self_signed(dir: &Path, ip: &str) -> (PathBuf, PathBuf) {
    berth_testutil::require_program("openssl");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=reg10-test", "-addext"])
        .arg(format!("subjectAltName=IP:{ip}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

impl Drop for PlainRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A berthd started with `extra` flags, on its own dirs; stopped and removed on drop. (No
/// containers run here, so stopping the daemon is all the cleanup there is.)
struct FlaggedDaemon {
    dir: tempfile::TempDir,
    child: Child,
}

impl FlaggedDaemon {
    fn start(extra: &[&str]) -> FlaggedDaemon {
        berth_testutil::require_program("docker");
        let dir = tempfile::Builder::new()
            .prefix("breg10")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let log = std::fs::File::create(dir.path().join("berthd.log")).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_berthd"))
            .arg("-H")
            .arg(dir.path().join("s.sock"))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("r"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn berthd");
        let daemon = FlaggedDaemon { dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !daemon.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "berthd did not answer: {}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("s.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n{}\nberthd log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn load_busybox(&self) {
        let fixture = berth_testutil::fixture("busybox.docker-archive.tar");
        self.ok(&["load", "-i", path_str(&fixture)]);
    }

    fn image_id(&self, name: &str) -> String {
        self.ok(&["image", "inspect", "--format", "{{.Id}}", name])
            .trim()
            .to_owned()
    }
}

impl Drop for FlaggedDaemon {
    fn drop(&mut self) {
        // SIGTERM: berthd removes its socket and stops cleanly.
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn failure_text(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded but should have failed");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn insecure_registry_by_address_and_by_range_reaches_a_plain_http_registry() {
    let link = OwnLink::create(0);
    let registry = PlainRegistry::start(&link.addr, false);
    let domain = registry.domain.clone();
    let name = format!("{domain}/reg10/busybox:1");

    // Without the flag: HTTPS to a plain-HTTP registry fails, and says what to do.
    let plain = FlaggedDaemon::start(&[]);
    plain.load_busybox();
    plain.ok(&["tag", "fixtures/busybox:1.35", &name]);
    let text = failure_text(&plain.docker(&["push", &name]));
    assert!(
        text.contains("https://") && text.contains(&format!("--insecure-registry {domain}")),
        "{text}"
    );
    let info = plain.ok(&["info", "--format", "{{json .RegistryConfig}}"]);
    let info: serde_json::Value = serde_json::from_str(&info).expect("info json");
    assert_eq!(
        info["InsecureRegistryCIDRs"],
        serde_json::json!(["::1/128", "127.0.0.0/8"])
    );
    assert_eq!(info["IndexConfigs"]["docker.io"]["Secure"], true);
    drop(plain);

    // By host:port: push, then pull it back into a clean daemon.
    let by_name = FlaggedDaemon::start(&["--insecure-registry", &domain]);
    by_name.load_busybox();
    by_name.ok(&["tag", "fixtures/busybox:1.35", &name]);
    let pushed_id = by_name.image_id(&name);
    let out = by_name.ok(&["push", &name]);
    assert!(out.contains("digest: sha256:"), "{out}");
    let info = by_name.ok(&["info", "--format", "{{json .RegistryConfig}}"]);
    let info: serde_json::Value = serde_json::from_str(&info).expect("info json");
    assert_eq!(info["IndexConfigs"][&domain]["Secure"], false, "{info}");
    assert_eq!(info["IndexConfigs"][&domain]["Name"], domain.as_str());
    drop(by_name);

    // A daemon without the flag cannot pull it either.
    let plain = FlaggedDaemon::start(&[]);
    let text = failure_text(&plain.docker(&["pull", &name]));
    assert!(
        text.contains(&format!("--insecure-registry {domain}")),
        "{text}"
    );
    drop(plain);

    // By CIDR range: the registry's address is in it.
    let by_range = FlaggedDaemon::start(&["--insecure-registry", "10.213.0.0/16"]);
    let out = by_range.ok(&["pull", &name]);
    assert!(out.contains("Downloaded newer image"), "{out}");
    assert_eq!(by_range.image_id(&name), pushed_id);
    let info = by_range.ok(&["info", "--format", "{{json .RegistryConfig}}"]);
    let info: serde_json::Value = serde_json::from_str(&info).expect("info json");
    assert_eq!(
        info["InsecureRegistryCIDRs"],
        serde_json::json!(["::1/128", "127.0.0.0/8", "10.213.0.0/16"])
    );
    drop(by_range);
    drop(registry);
    drop(link);
}

/// A TLS registry whose certificate nothing trusts: refused without the flag, spoken to over
/// HTTPS without verification with it (it has no plain HTTP to fall back to).
#[test]
fn insecure_registry_with_tls_is_used_without_certificate_checks() {
    let link = OwnLink::create(1);
    let registry = PlainRegistry::start(&link.addr, true);
    let domain = registry.domain.clone();
    let name = format!("{domain}/reg10/tls:1");

    let plain = FlaggedDaemon::start(&[]);
    plain.load_busybox();
    plain.ok(&["tag", "fixtures/busybox:1.35", &name]);
    let text = failure_text(&plain.docker(&["push", &name]));
    assert!(
        text.contains("https://")
            && text.to_lowercase().contains("certificate")
            && text.contains(&format!("--insecure-registry {domain}")),
        "{text}"
    );
    drop(plain);

    let insecure = FlaggedDaemon::start(&["--insecure-registry", &domain]);
    insecure.load_busybox();
    insecure.ok(&["tag", "fixtures/busybox:1.35", &name]);
    let pushed_id = insecure.image_id(&name);
    insecure.ok(&["push", &name]);
    insecure.ok(&["rmi", &name]);
    let out = insecure.ok(&["pull", &name]);
    assert!(out.contains("Downloaded newer image"), "{out}");
    assert_eq!(insecure.image_id(&name), pushed_id);
    drop(insecure);
    drop(registry);
    drop(link);
}

#[test]
fn bad_insecure_registry_entries_stop_the_daemon_at_start() {
    for entry in ["http://10.213.0.1:5000", "10.213.0.0/40"] {
        let out = Command::new(env!("CARGO_BIN_EXE_berthd"))
            .args([
                "-H",
                "/nonexistent/reg10.sock",
                "--insecure-registry",
                entry,
            ])
            .output()
            .expect("run berthd");
        assert!(!out.status.success(), "{entry} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("insecure registry"), "{entry}: {err}");
    }
}
