//! Test harness for the image API: a private berthd (own socket, data and exec roots under a
//! temp dir), a private berth-registry, the real `docker` CLI pointed at the daemon with its own
//! config dir, and a raw HTTP client for protocol checks. Everything is killed and removed on
//! Drop, even when a test fails.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SHARED_IMAGES: &str = "/work/shared/images";

/// Builds the daemon and registry binaries once per test process, so the tests never run a
/// stale binary (they live in other packages: no CARGO_BIN_EXE_ for them).
fn build_binaries() {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        // `scripts/test` runs `cargo test --workspace`, which has just built every binary of
        // the workspace; a nested `cargo build -p …` resolves features differently and would
        // rebuild half the dependency tree.
        if std::env::var_os("BERTH_WORKSPACE_BINS_FRESH").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "-p", "berthd", "-p", "berth-registry"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build");
        assert!(
            status.success(),
            "building berthd and berth-registry failed"
        );
    });
}

fn target_bin(name: &str) -> PathBuf {
    build_binaries();
    // This test runs from <target>/debug/deps/; the binaries are in <target>/debug/.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p berthd -p berth-registry` first",
        path.display()
    );
    path
}

pub fn shared_image(name: &str) -> PathBuf {
    let path = Path::new(SHARED_IMAGES).join(name);
    assert!(path.exists(), "test image {} is missing", path.display());
    path
}

pub struct Daemon {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
}

impl Daemon {
    pub fn start() -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix(&format!("berth-images-test-{}-", std::process::id()))
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("berthd.sock");
        let mut daemon = Daemon {
            child: None,
            dir,
            socket,
        };
        daemon.spawn();
        daemon
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("berthd.log")).expect("log file");
        let child = Command::new(target_bin("berthd"))
            .arg("-H")
            .arg(&self.socket)
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.dir.path().join("run"))
            .arg("--log-level")
            .arg("debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawning berthd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self
                .try_request("GET", "/_ping", &[], &[])
                .is_some_and(|r| r.status == 200)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("berthd did not answer /_ping: {}", self.log());
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `work` on the data root while the daemon is stopped, then starts it again.
    pub fn while_stopped(&mut self, work: impl FnOnce(&Path)) {
        self.stop();
        work(&self.data_root());
        self.spawn();
    }

    /// Stops and starts the daemon on the same roots (state must survive).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    /// The real docker CLI against this daemon, with a private config dir (logins).
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_with_config(args, &self.dir.path().join("docker-config"))
    }

    pub fn docker_with_config(&self, args: &[&str], config: &Path) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", config)
            .stdin(Stdio::null())
            .output()
            .expect("running docker (is the docker CLI installed?)")
    }

    /// Runs docker and asserts success; returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}\n--- berthd log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs docker and asserts failure; returns stderr.
    pub fn docker_err(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            !out.status.success(),
            "docker {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer from berthd"))
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<HttpResponse> {
        let mut stream = UnixStream::connect(&self.socket).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .ok()?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body).ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        HttpResponse::parse(&raw)
    }

    /// Top-level entries of the content store's sha256 dir (blobs and temp files).
    pub fn blob_names(&self) -> Vec<String> {
        std::fs::read_dir(self.data_root().join("store/blobs/sha256"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        // berthd bind-mounts berth-shim under its exec root; a killed daemon leaves that mount
        // behind, and the temp dir could not be removed under it. Deepest first.
        let root = self.dir.path().display().to_string();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&root))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for point in points {
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    fn parse(raw: &[u8]) -> Option<HttpResponse> {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Some(HttpResponse {
            status,
            headers,
            body,
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A JSON-lines stream (pull, push, load).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
            .collect()
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
}

/// A private berth-registry on a free loopback port.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub addr: String,
}

impl Registry {
    /// Where the registry keeps its files (tests corrupt blobs there).
    pub fn storage(&self) -> &Path {
        self.dir.path()
    }

    /// `htpasswd`: users and passwords to require (basic auth), or none for an open registry.
    pub fn start(htpasswd: &[(&str, &str)]) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix(&format!("berth-images-registry-{}-", std::process::id()))
            .tempdir()
            .expect("temp dir");
        let mut cmd = Command::new(target_bin("berth-registry"));
        cmd.arg("serve")
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--root")
            .arg(dir.path().join("root"));
        if !htpasswd.is_empty() {
            let lines: String = htpasswd
                .iter()
                .map(|(user, pw)| format!("{user}:{}\n", bcrypt::hash(pw, 4).expect("bcrypt")))
                .collect();
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, lines).expect("htpasswd");
            cmd.arg("--auth")
                .arg(format!("htpasswd:{}", file.display()));
        }
        let out_path = dir.path().join("registry.out");
        let out = std::fs::File::create(&out_path).expect("registry output");
        let child = cmd
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .expect("spawning berth-registry");
        // Owned by the guard from here on: killed on Drop even if the start times out.
        let mut registry = Registry {
            child,
            dir,
            addr: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
                registry.addr = addr.trim().to_owned();
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
