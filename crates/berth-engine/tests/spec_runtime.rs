//! Specs from `berth_engine::spec::build` run through the real runtime (root): Docker's
//! default capabilities, seccomp profile, masked and read-only paths, and user resolution are
//! in effect inside the container.

mod spec_support;

use bollard_stubs::models::{ContainerConfig, HostConfig};
use spec_support::{run_script, run_script_in};

/// The fixture's busybox has only root: add Docker Hub busybox's `nobody` and a group root
/// belongs to.
fn add_users(rootfs: &std::path::Path) {
    let append = |file: &str, line: &str| {
        let path = rootfs.join(file);
        let mut text = std::fs::read_to_string(&path).expect("read the image's file");
        text.push_str(line);
        std::fs::write(&path, text).expect("write the image's file");
    };
    append(
        "etc/passwd",
        "nobody:x:65534:65534:nobody:/home:/bin/false\n",
    );
    append("etc/group", "wheel:x:10:root\nnogroup:x:65534:\n");
}

/// Prints what the assertions look at, one `key=value` per line.
const PROBE: &str = r#"
echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"
echo "seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)"
unshare -U true 2>/dev/null; echo "unshare_user=$?"
unshare -m true 2>/dev/null; echo "unshare_mount=$?"
echo "interrupts=$(wc -c < /proc/interrupts)"
echo "keys=$(wc -c < /proc/keys)"
echo "firmware=$(ls /sys/firmware | wc -l)"
(echo x > /proc/sys/kernel/domainname) 2>/dev/null; echo "proc_sys_write=$?"
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "groups=$(id -G)"
echo "hostname=$(hostname)"
echo "home=$HOME"
"#;

/// Docker's 14 default capabilities as a CapEff mask (the value `docker run` shows).
const DOCKER_DEFAULT_CAPEFF: &str = "00000000a80425fb";

#[test]
fn default_spec_confines_busybox_like_docker() {
    let out = run_script_in(
        ContainerConfig::default(),
        HostConfig::default(),
        PROBE,
        add_users,
    );
    assert_eq!(out.code, 0, "{}", out.output);
    assert_eq!(out.get("capeff"), DOCKER_DEFAULT_CAPEFF);
    assert_eq!(out.get("seccomp"), "2", "a seccomp filter is loaded");
    assert_ne!(out.get("unshare_user"), "0", "seccomp blocks unshare");
    assert_ne!(out.get("unshare_mount"), "0");
    assert_eq!(out.get("interrupts"), "0", "/proc/interrupts is masked");
    assert_eq!(out.get("keys"), "0", "/proc/keys is masked");
    assert_eq!(out.get("firmware"), "0", "/sys/firmware is masked");
    assert_ne!(out.get("proc_sys_write"), "0", "/proc/sys is read-only");
    assert_eq!(out.get("uid"), "0");
    assert_eq!(
        out.get("groups"),
        "0 10",
        "root's supplementary groups from /etc/group"
    );
    assert!(
        out.get("hostname").starts_with("spec-"),
        "hostname from the ID"
    );
    assert_eq!(out.get("home"), "/root");
}

/// The same probe without seccomp: unshare(CLONE_NEWUSER) needs no capability, so the EPERM
/// above came from the profile.
#[test]
fn seccomp_unconfined_allows_what_the_profile_blocked() {
    let host = HostConfig {
        security_opt: Some(vec!["seccomp=unconfined".into()]),
        ..Default::default()
    };
    let out = run_script(ContainerConfig::default(), host, PROBE);
    assert_eq!(out.code, 0, "{}", out.output);
    assert_eq!(out.get("seccomp"), "0");
    assert_eq!(out.get("unshare_user"), "0");
    assert_eq!(out.get("capeff"), DOCKER_DEFAULT_CAPEFF);
}

/// `systempaths=unconfined` drops the masks (the host's /proc/interrupts is never empty).
#[test]
fn systempaths_unconfined_unmasks() {
    let host = HostConfig {
        security_opt: Some(vec!["systempaths=unconfined".into()]),
        ..Default::default()
    };
    let out = run_script(ContainerConfig::default(), host, PROBE);
    assert_eq!(out.code, 0, "{}", out.output);
    assert_ne!(out.get("interrupts"), "0");
}

/// CAP_SYS_ADMIN turns on the profile's capability-gated group (mount, unshare, ...).
#[test]
fn cap_add_sys_admin_opens_the_gated_syscalls() {
    let host = HostConfig {
        cap_add: Some(vec!["SYS_ADMIN".into()]),
        cap_drop: Some(vec!["net_raw".into()]),
        ..Default::default()
    };
    let out = run_script(ContainerConfig::default(), host, PROBE);
    assert_eq!(out.code, 0, "{}", out.output);
    assert_eq!(out.get("seccomp"), "2");
    assert_eq!(out.get("unshare_mount"), "0");
    // + CAP_SYS_ADMIN (bit 21), - CAP_NET_RAW (bit 13).
    assert_eq!(out.get("capeff"), "00000000a82405fb");
}

#[test]
fn user_nobody_is_resolved_from_the_image() {
    let config = ContainerConfig {
        user: Some("nobody".into()),
        ..Default::default()
    };
    let out = run_script_in(config, HostConfig::default(), PROBE, add_users);
    assert_eq!(out.code, 0, "{}", out.output);
    assert_eq!(out.get("uid"), "65534");
    assert_eq!(out.get("gid"), "65534");
    assert_eq!(
        out.get("capeff"),
        "0000000000000000",
        "a non-root user keeps no capabilities"
    );
    assert_eq!(out.get("home"), "/home");
}

/// Binds (read-only), tmpfs with options, and a read-only rootfs, as the runtime mounts them.
#[test]
fn binds_tmpfs_and_readonly_rootfs() {
    let data = tempfile::Builder::new()
        .prefix("berth-spec-bind-")
        .tempdir()
        .expect("tempdir");
    std::fs::write(data.path().join("hello"), "from the host\n").expect("write");
    let host = HostConfig {
        binds: Some(vec![format!("{}:/data:ro", data.path().display())]),
        tmpfs: Some([("/scratch".to_string(), "size=1m,mode=700".to_string())].into()),
        readonly_rootfs: Some(true),
        shm_size: Some(2 << 20),
        ..Default::default()
    };
    let script = r#"
echo "hello=$(cat /data/hello)"
touch /data/new 2>/dev/null; echo "bind_write=$?"
touch /newfile 2>/dev/null; echo "root_write=$?"
touch /scratch/ok; echo "tmpfs_write=$?"
echo "tmpfs_mode=$(stat -c %a /scratch)"
echo "tmpfs_opts=$(grep ' /scratch ' /proc/self/mountinfo | cut -d' ' -f6)"
echo "tmpfs_size=$(df -k /scratch | tail -1 | awk '{print $2}')"
echo "shm_size=$(df -k /dev/shm | tail -1 | awk '{print $2}')"
echo "hosts=$(cat /etc/hosts | head -1)"
"#;
    let out = run_script(ContainerConfig::default(), host, script);
    assert_eq!(out.code, 0, "{}", out.output);
    assert_eq!(out.get("hello"), "from the host");
    assert_ne!(out.get("bind_write"), "0", "the bind is read-only");
    assert_ne!(out.get("root_write"), "0", "the rootfs is read-only");
    assert_eq!(out.get("tmpfs_write"), "0");
    assert_eq!(out.get("tmpfs_mode"), "700");
    let opts = out.get("tmpfs_opts");
    assert!(
        opts.contains("nosuid") && opts.contains("nodev") && opts.contains("noexec"),
        "{opts}"
    );
    assert_eq!(out.get("tmpfs_size"), "1024");
    assert_eq!(out.get("shm_size"), "2048");
    assert_eq!(out.get("hosts"), "127.0.0.1\tlocalhost");
    assert!(!data.path().join("new").exists());
}

/// Privileged: every capability this process can grant, no seccomp, no masks, rw /sys, the
/// host's devices.
#[test]
fn privileged_container() {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let own_bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd")
        .trim()
        .to_string();
    let host = HostConfig {
        privileged: Some(true),
        ..Default::default()
    };
    let script = r#"
echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"
echo "seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)"
echo "interrupts=$(wc -c < /proc/interrupts)"
echo "sys_opts=$(grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f6)"
[ -c /dev/kmsg ] && echo "kmsg=yes" || echo "kmsg=no"
unshare -m true; echo "unshare_mount=$?"
"#;
    let out = run_script(ContainerConfig::default(), host, script);
    assert_eq!(out.code, 0, "{}", out.output);
    assert_eq!(out.get("capeff"), own_bounding);
    assert_eq!(out.get("seccomp"), "0");
    assert_ne!(out.get("interrupts"), "0", "nothing masked");
    assert!(out.get("sys_opts").starts_with("rw"), "{}", out.output);
    assert_eq!(out.get("kmsg"), "yes", "host devices are there");
    assert_eq!(out.get("unshare_mount"), "0");
}
