//! Isolation settings seen from inside the container: masked and read-only paths,
//! capabilities, rlimits, no_new_privs, seccomp, user namespaces.

mod common;

use common::{Ctr, stderr, stdout};
use serde_json::json;

fn run_output(c: &Ctr) -> String {
    let out = c.runc(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert!(
        out.status.success(),
        "run failed ({}): {}",
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn masked_and_read_only_paths() {
    let c = Ctr::new(&[
        "sh",
        "-c",
        "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo writable || echo readonly",
    ]);
    assert!(
        std::fs::read("/proc/timer_list").is_ok_and(|t| !t.is_empty()),
        "host lacks /proc/timer_list"
    );
    let out = run_output(&c);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["0", "0", "readonly"],
        "{out}"
    );
}

#[test]
fn capabilities_are_limited_to_the_spec() {
    let mut c = Ctr::new(&[
        "sh",
        "-c",
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status",
    ]);
    let caps = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    c.edit(|s| {
        s["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps});
    });
    let out = run_output(&c);
    // CAP_KILL = bit 5, CAP_NET_BIND_SERVICE = bit 10 → 0x420.
    for line in out.lines() {
        assert!(line.ends_with("0000000000000420"), "{out}");
    }
    assert_eq!(out.lines().count(), 5, "{out}");
}

#[test]
fn rlimits_and_no_new_privs() {
    let mut c = Ctr::new(&["sh", "-c", "ulimit -n; grep NoNewPrivs /proc/self/status"]);
    c.edit(|s| {
        s["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]);
        s["process"]["noNewPrivileges"] = true.into();
    });
    let out = run_output(&c);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "256");
    assert!(lines[1].ends_with("1"), "{out}");
}

#[test]
fn seccomp_errno_rule_is_enforced() {
    let mut c = Ctr::new(&["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"]);
    c.edit(|s| {
        s["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
    });
    let out = run_output(&c);
    assert!(
        out.contains("Operation not permitted") && out.contains("rc=1"),
        "{out}"
    );
    // The compiled filter is kept under the state root, and a second container with the same
    // profile, which loads it from there, is held to it just the same.
    let cache = c.root.path().join("#seccomp-cache");
    let cached: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(cached.len(), 1, "{cache:?}");
    assert!(
        c.runc(&["list", "-q"]).status.success(),
        "the cache directory must not upset `list`"
    );
    let listed = stdout(&c.runc(&["list", "-q"]));
    assert!(!listed.contains("seccomp"), "{listed}");
    let out = run_output(&c);
    assert!(
        out.contains("Operation not permitted") && out.contains("rc=1"),
        "from the cache: {out}"
    );
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_host_id() {
    let mut c = Ctr::new(&["sh", "-c", "id -u; cat /proc/self/uid_map"]);
    c.edit(|s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        s["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        s["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    // The rootfs must be owned by the mapped root to be usable.
    let status = std::process::Command::new("chown")
        .args(["-R", "100000:100000"])
        .arg(c.bundle.rootfs())
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_output(&c);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "{out}");
}

#[test]
fn joining_an_existing_network_namespace_by_path() {
    // The first container's netns, joined by a second one through /proc/<pid>/ns/net.
    let first = Ctr::new(&["sleep", "30"]);
    first.create();
    let ns_path = format!("/proc/{}/ns/net", first.pid());
    let ns_inode = std::fs::metadata(&ns_path)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    let mut second = Ctr::new(&["sh", "-c", "readlink /proc/self/ns/net"]);
    second.edit(|s| {
        for ns in s["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "network" {
                ns["path"] = ns_path.clone().into();
            }
        }
    });
    let out = run_output(&second);
    assert_eq!(out.trim(), format!("net:[{ns_inode}]"));
}
