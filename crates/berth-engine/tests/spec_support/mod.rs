//! Runs a shell script in busybox under a spec built by `berth_engine::spec::build`, through
//! the real runtime library, and returns what the script wrote.

#![allow(dead_code)]

mod sys;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use berth_engine::spec::{EtcFiles, SpecInput, build, merge_image_config};
use berth_runtime::container::{ContainerId, CreateOptions, InitOrigin, RunOptions, delete, run};
use berth_testutil::Bundle;
use bollard_stubs::models::{ContainerConfig, HostConfig};

/// Where the script writes its output: a host directory bind-mounted read-write, so even a
/// read-only rootfs or a non-root user can report.
const OUT_DIR: &str = "/berth-test-out";

/// A finished container run.
pub struct Outcome {
    pub code: i32,
    pub output: String,
}

impl Outcome {
    /// The value of a `key=value` line the script printed.
    pub fn get(&self, key: &str) -> &str {
        self.output
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key}= in the output:\n{}", self.output))
    }
}

/// Force-deletes the container if the run did not (a failed test must not leak it).
struct Cleanup {
    root: PathBuf,
    id: ContainerId,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = delete(&self.root, &self.id, true);
    }
}

/// Builds the spec for `config`/`host` over a fresh busybox rootfs and runs `script` with
/// `sh -c` in the foreground.
pub fn run_script(config: ContainerConfig, host: HostConfig, script: &str) -> Outcome {
    run_script_in(config, host, script, |_| {})
}

/// Like [`run_script`], letting `prepare` change the rootfs (e.g. add users) first.
pub fn run_script_in(
    mut config: ContainerConfig,
    host: HostConfig,
    script: &str,
    prepare: impl FnOnce(&Path),
) -> Outcome {
    berth_testutil::require_root();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("spec-{}-{n}", std::process::id());
    let bundle = Bundle::from_oci_archive(
        &berth_testutil::fixture("busybox.oci-archive.tar"),
        &["true"],
    );
    let scratch = tempfile::Builder::new()
        .prefix("berth-spec-test-")
        .tempdir()
        .expect("tempdir");
    let etc = |file: &str, text: &str| {
        let path = scratch.path().join(file);
        std::fs::write(&path, text).expect("write etc file");
        path
    };
    let hosts = etc("hosts", "127.0.0.1\tlocalhost\n");
    let hostname = etc("hostname", "spectest\n");
    let resolv = etc("resolv.conf", "nameserver 127.0.0.1\n");
    config.cmd = Some(vec![
        "sh".into(),
        "-c".into(),
        format!("{{ {script}\n}} > {OUT_DIR}/out 2>&1"),
    ]);
    merge_image_config(&mut config, &serde_json::Value::Null);
    let id = format!("{name}-0123456789abcdef");
    let rootfs = bundle.rootfs();
    prepare(&rootfs);
    let out_dir = scratch.path().join("out");
    std::fs::create_dir(&out_dir).expect("output dir");
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o1777))
        .expect("chmod the output dir");
    let mut host = host;
    host.binds
        .get_or_insert_with(Vec::new)
        .push(format!("{}:{OUT_DIR}", out_dir.display()));
    let spec = build(&SpecInput {
        id: &id,
        config: &config,
        host: &host,
        rootfs: &rootfs,
        etc: EtcFiles {
            hosts: &hosts,
            hostname: &hostname,
            resolv_conf: &resolv,
        },
        cgroups_path: format!("/berth-{name}"),
        netns: None,
    })
    .expect("build the spec");
    spec.save(bundle.path().join("config.json"))
        .expect("write config.json");

    let root = scratch.path().join("runtime");
    std::fs::create_dir_all(&root).expect("runtime root");
    let container = ContainerId::parse(&name).expect("valid id");
    let _cleanup = Cleanup {
        root: root.clone(),
        id: container.clone(),
    };
    let options = RunOptions {
        create: CreateOptions::new(root, container, bundle.path().to_path_buf()),
        detach: false,
        scratch_dir: scratch.path().join("console"),
    };
    let code = sys::in_child(|| match run(&options, InitOrigin::Here) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("runtime error: {e}");
            125
        }
    });
    let output = std::fs::read_to_string(out_dir.join("out")).unwrap_or_default();
    Outcome { code, output }
}
