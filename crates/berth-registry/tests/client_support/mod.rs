//! Shared by the client_* tests: a real docker-registry (distribution 2.8) on 127.0.0.1, the
//! fixture archives unpacked as OCI layouts, and skopeo.
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_registry::client::{ClientConfig, LayoutDir, RegistryClient, UploadMode};

pub fn temp_dir(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("registry-client-{what}-{}-", std::process::id()))
        .tempdir()
        .expect("tempdir")
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Debian's docker-registry on a free loopback port, killed on drop.
pub struct DockerRegistry {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DockerRegistry {
    pub fn start() -> DockerRegistry {
        Self::start_with_auth("")
    }

    /// `auth_yaml` is spliced into the config (e.g. an `auth: htpasswd:` section).
    pub fn start_with_auth(auth_yaml: &str) -> DockerRegistry {
        let program = berth_testutil::require_program("docker-registry");
        let dir = temp_dir("docker-registry");
        let port = free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
                dir.path().join("data").display()
            ),
        )
        .expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new(program)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let registry = DockerRegistry {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(registry.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {} (log: {})",
                registry.addr,
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

/// Blobs above `chunk_size` go up in `Content-Range` PATCHes of that size.
pub fn client(chunk_size: u64) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        chunk_size,
        upload_mode: UploadMode::Chunked,
        ..ClientConfig::default()
    })
    .expect("client")
}

/// Blobs above `threshold` go up in one streamed PATCH.
pub fn streaming_client(threshold: u64) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        chunk_size: threshold,
        upload_mode: UploadMode::Streamed,
        ..ClientConfig::default()
    })
    .expect("client")
}

/// Unpacks an OCI archive (a tar of an image layout) from the shared fixtures.
pub fn unpack_fixture(name: &str) -> (tempfile::TempDir, Arc<LayoutDir>) {
    let dir = temp_dir("layout");
    let file = std::fs::File::open(berth_testutil::fixture(name)).expect("open fixture");
    tar::Archive::new(file)
        .unpack(dir.path())
        .expect("unpack fixture");
    let layout = Arc::new(LayoutDir::open(dir.path()).expect("fixture is a layout"));
    (dir, layout)
}

/// Runs skopeo with `args`, asserting success; returns stdout.
pub fn skopeo(args: &[&str]) -> String {
    let program = berth_testutil::require_program("skopeo");
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// skopeo copies a shared fixture archive into the registry.
pub fn skopeo_push_fixture(archive: &str, dest: &str) {
    let src = format!("oci-archive:{}", berth_testutil::fixture(archive).display());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{dest}"),
    ]);
}

/// The digest skopeo sees for a remote image.
pub fn skopeo_digest(image: &str) -> String {
    let out = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        &format!("docker://{image}"),
    ]);
    out.trim().to_owned()
}

pub fn read(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut out))
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    out
}

/// Every blob file name under `layout/blobs/sha256`, sorted.
pub fn blob_names(layout: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("blobs dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn path_of(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().to_owned()
}
