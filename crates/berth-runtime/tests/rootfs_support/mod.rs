//! Harness for the rootfs tests: runs a body in a forked "container" process (new mount
//! namespace plus the namespaces the spec lists, optionally a user namespace) and returns
//! the findings it wrote to a pipe. The parent asserts on them, and that nothing of the
//! bundle leaked into the host's mount table.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use berth_runtime::rootfs::RootfsConfig;
use berth_testutil::Bundle;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// What a body found, keyed by check name (e.g. `"proc.options" => "rw,nosuid,..."`).
pub type Findings = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub no_pivot: bool,
    pub user_namespace: bool,
    /// Runs in the forked child before any namespace is created (gets the bundle path): set up
    /// what the container's namespaces should inherit, e.g. mounts whose flags get locked.
    pub before_namespaces: Option<fn(&Path)>,
}

pub fn busybox() -> Bundle {
    berth_testutil::require_root();
    Bundle::from_oci_archive(
        &berth_testutil::fixture("busybox.oci-archive.tar"),
        &["true"],
    )
}

/// Runs `body` as PID 1 of a new PID namespace, in a new mount namespace and the namespaces of
/// `bundle.spec`, and returns its findings. `body` gets the RootfsConfig to call
/// prepare/pivot/finalize with.
pub fn in_container(
    bundle: &Bundle,
    options: Options,
    body: impl FnOnce(&RootfsConfig<'_>, &mut Findings),
) -> Findings {
    let rootfs = bundle.rootfs();
    let cfg = RootfsConfig {
        spec: &bundle.spec,
        bundle: bundle.path(),
        rootfs: &rootfs,
        no_pivot: options.no_pivot,
        in_user_namespace: options.user_namespace,
    };
    let (report_read, report_write) = pipe();
    let (sync_read, sync_write) = pipe();
    let (go_read, go_write) = pipe();
    // SAFETY: the child only runs our code and then `_exit`s; it never returns into the test
    // harness. glibc keeps malloc usable in the child of a multi-threaded parent.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(report_read);
        drop(sync_read);
        drop(go_write);
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            container_parent(&cfg, options, report_write, sync_write, go_read, body)
        }))
        .unwrap_or(101);
        // SAFETY: ends the forked child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    drop(report_write);
    drop(go_read);
    // The child says when it has its user namespace; we (root on the host) map it.
    let mut byte = [0u8; 1];
    let mut sync = std::fs::File::from(sync_read);
    drop(sync_write);
    if sync.read(&mut byte).unwrap_or(0) == 1 && options.user_namespace {
        std::fs::write(format!("/proc/{pid}/uid_map"), "0 0 4294967295").expect("write uid_map");
        std::fs::write(format!("/proc/{pid}/gid_map"), "0 0 4294967295").expect("write gid_map");
    }
    std::fs::File::from(go_write).write_all(b"g").ok();
    let mut text = String::new();
    std::fs::File::from(report_read)
        .read_to_string(&mut text)
        .expect("read findings");
    let status = wait(pid);
    let findings: Findings = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.replace("\\n", "\n")))
        .collect();
    assert_eq!(
        status, 0,
        "container process failed (status {status}); findings: {findings:#?}"
    );
    assert_no_leak(bundle.path());
    findings
}

fn container_parent(
    cfg: &RootfsConfig<'_>,
    options: Options,
    report: OwnedFd,
    sync: OwnedFd,
    go: OwnedFd,
    body: impl FnOnce(&RootfsConfig<'_>, &mut Findings),
) -> i32 {
    if let Some(hook) = options.before_namespaces {
        hook(cfg.bundle);
    }
    if options.user_namespace {
        // SAFETY: plain syscall; this forked child is single-threaded as unshare(NEWUSER) needs.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
        assert_eq!(rc, 0, "unshare(CLONE_NEWUSER)");
    }
    std::fs::File::from(sync).write_all(b"u").expect("sync");
    let mut byte = [0u8; 1];
    std::fs::File::from(go)
        .read_exact(&mut byte)
        .expect("wait for id maps");
    let flags = namespace_flags(cfg.spec) | libc::CLONE_NEWNS | libc::CLONE_NEWPID;
    // SAFETY: plain syscall on this single-threaded child.
    if unsafe { libc::unshare(flags) } != 0 {
        panic!("unshare: {}", std::io::Error::last_os_error());
    }
    // SAFETY: as above; the grandchild is PID 1 of the new PID namespace.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut findings = Findings::new();
        let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            body(cfg, &mut findings)
        })) {
            Ok(()) => 0,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                findings.insert("panic".into(), msg);
                1
            }
        };
        let mut out = String::new();
        for (k, v) in &findings {
            out.push_str(&format!("{k}\t{}\n", v.replace('\n', "\\n")));
        }
        std::fs::File::from(report).write_all(out.as_bytes()).ok();
        // SAFETY: ends the grandchild.
        unsafe { libc::_exit(code) };
    }
    drop(report);
    wait(pid)
}

fn namespace_flags(spec: &Spec) -> libc::c_int {
    let namespaces = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    namespaces
        .iter()
        .map(|n| match n.typ() {
            LinuxNamespaceType::Network => libc::CLONE_NEWNET,
            LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
            LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
            LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child; `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR),
            "waitpid"
        );
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// Nothing the container mounted may be visible in the host's mount table.
fn assert_no_leak(bundle: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let needle = bundle.to_string_lossy();
    let leaked: Vec<&str> = info
        .lines()
        .filter(|l| l.contains(needle.as_ref()))
        .collect();
    assert!(
        leaked.is_empty(),
        "mounts leaked into the host: {leaked:#?}"
    );
}

/// Mount table of the calling process: mount point → (per-mount options, optional fields,
/// fstype, super options). Later entries for the same mount point win (they are on top).
pub fn mounts() -> BTreeMap<String, MountInfo> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut out = BTreeMap::new();
    for line in info.lines() {
        let (left, right) = line.split_once(" - ").unwrap();
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        out.insert(
            left[4].to_string(),
            MountInfo {
                root: left[3].to_string(),
                options: left[5].split(',').map(str::to_string).collect(),
                optional: left[6..].join(" "),
                fstype: right[0].to_string(),
                super_options: right.get(2).unwrap_or(&"").to_string(),
            },
        );
    }
    out
}

#[derive(Debug, Clone)]
pub struct MountInfo {
    pub root: String,
    pub options: Vec<String>,
    pub optional: String,
    pub fstype: String,
    pub super_options: String,
}

impl MountInfo {
    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }
}

/// Records a mount's fstype/options/propagation as findings under `key`.
pub fn record_mount(findings: &mut Findings, key: &str, path: &str) {
    match mounts().get(path) {
        Some(m) => {
            findings.insert(format!("{key}.fstype"), m.fstype.clone());
            findings.insert(format!("{key}.options"), m.options.join(","));
            findings.insert(format!("{key}.optional"), m.optional.clone());
            findings.insert(format!("{key}.super"), m.super_options.clone());
            findings.insert(format!("{key}.root"), m.root.clone());
        }
        None => {
            findings.insert(format!("{key}.fstype"), "NOT MOUNTED".into());
        }
    }
}

/// The errno of an operation, as text (`ok` on success).
pub fn outcome<T>(result: std::io::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(libc::EROFS) => "EROFS".into(),
            Some(libc::EACCES) => "EACCES".into(),
            Some(libc::EPERM) => "EPERM".into(),
            Some(libc::ENOENT) => "ENOENT".into(),
            _ => e.to_string(),
        },
    }
}

type Step = fn(&RootfsConfig<'_>) -> Result<(), berth_runtime::rootfs::RootfsError>;

/// Runs prepare → pivot → finalize, recording the first error (as `error`) and stopping there,
/// and each step's duration in µs (`time.prepare`, `time.pivot`, `time.finalize`).
pub fn setup(cfg: &RootfsConfig<'_>, findings: &mut Findings) -> bool {
    use berth_runtime::rootfs::{finalize, pivot, prepare};
    let steps: [(&str, Step); 3] = [
        ("prepare", prepare),
        ("pivot", pivot),
        ("finalize", finalize),
    ];
    for (name, step) in steps {
        let started = std::time::Instant::now();
        let result = step(cfg);
        let micros = started.elapsed().as_micros();
        findings.insert(format!("time.{name}"), micros.to_string());
        if let Err(e) = result {
            findings.insert("error".into(), error_chain(&e));
            return false;
        }
    }
    true
}

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// File mode/kind/rdev of a path (no symlink following) as `kind major:minor mode uid:gid`.
pub fn node(path: &str) -> String {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            let ft = m.file_type();
            let kind = if ft.is_char_device() {
                "c"
            } else if ft.is_block_device() {
                "b"
            } else if ft.is_fifo() {
                "p"
            } else if ft.is_symlink() {
                "l"
            } else if ft.is_dir() {
                "d"
            } else {
                "f"
            };
            let rdev = m.rdev();
            format!(
                "{kind} {}:{} {:o} {}:{}",
                libc::major(rdev),
                libc::minor(rdev),
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            )
        }
        Err(e) => format!("missing ({e})"),
    }
}
