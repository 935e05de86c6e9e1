//! A spec captured from real Docker (see testdata's `_note`) against ours for the same
//! Config/HostConfig. Version differences (seccomp list, masked paths of newer Dockers) are
//! out of this file: Docker filled `HostConfig.MaskedPaths` itself, and seccomp is compared
//! elsewhere. Equivalent spellings are normalised on both sides: zero/false limits Docker
//! writes ("unset"), `-1` for a wildcard device number, capability order, and the HOME runc
//! (not the spec) sets in Docker.

use std::path::Path;

use bollard_stubs::models::{ContainerConfig, HostConfig};
use serde_json::Value;

use super::Fixture;
use crate::spec::{EtcFiles, SpecInput, build};

const GOLDEN: &str = include_str!("testdata/docker-20.10-run.json");
/// busybox's own files: only root.
const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n";
const GROUP: &str = "root:x:0:\n";

#[test]
fn same_spec_as_docker_for_a_busy_command_line() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let run = &golden["run"];
    let config: ContainerConfig = serde_json::from_value(run["Config"].clone()).unwrap();
    let host: HostConfig = serde_json::from_value(run["HostConfig"].clone()).unwrap();
    let f = Fixture::new();
    std::fs::write(f.rootfs().join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(f.rootfs().join("etc/group"), GROUP).unwrap();
    let etc = |name: &str| format!("/var/lib/berth/containers/x/{name}");
    let (hosts, hostname, resolv) = (etc("hosts"), etc("hostname"), etc("resolv.conf"));
    let rootfs = f.rootfs();
    let spec = build(&SpecInput {
        id: run["Id"].as_str().unwrap(),
        config: &config,
        host: &host,
        rootfs: &rootfs,
        etc: EtcFiles {
            hosts: Path::new(&hosts),
            hostname: Path::new(&hostname),
            resolv_conf: Path::new(&resolv),
        },
        cgroups_path: "/berth/x".into(),
        netns: None,
    })
    .unwrap();
    let mut ours = serde_json::to_value(&spec).unwrap();
    let mut theirs = golden["spec"].clone();
    for v in [&mut ours, &mut theirs] {
        normalise(v);
    }
    for key in ["process", "mounts", "hostname", "domainname", "root"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    for key in [
        "sysctl",
        "resources",
        "namespaces",
        "maskedPaths",
        "readonlyPaths",
        "devices",
    ] {
        assert_eq!(ours["linux"][key], theirs["linux"][key], "linux.{key}");
    }
}

fn normalise(spec: &mut Value) {
    let process = &mut spec["process"];
    if let Some(env) = process["env"].as_array_mut() {
        env.retain(|e| !e.as_str().is_some_and(|e| e.starts_with("HOME=")));
    }
    if let Some(caps) = process["capabilities"].as_object_mut() {
        for list in caps.values_mut() {
            if let Some(items) = list.as_array_mut() {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    for falsy in ["terminal", "noNewPrivileges"] {
        if process[falsy] == Value::Bool(false) {
            process.as_object_mut().unwrap().remove(falsy);
        }
    }
    if spec["root"]["readonly"] == Value::Bool(false) {
        spec["root"].as_object_mut().unwrap().remove("readonly");
    }
    if let Some(root) = spec["root"].as_object_mut() {
        root.remove("path");
    }
    let resources = &mut spec["linux"]["resources"];
    for (group, field) in [
        ("memory", "disableOOMKiller"),
        ("cpu", "shares"),
        ("blockIO", "weight"),
    ] {
        let zero =
            matches!(&resources[group][field], Value::Bool(false)) || resources[group][field] == 0;
        if zero && let Some(obj) = resources[group].as_object_mut() {
            obj.remove(field);
        }
        if resources[group].as_object().is_some_and(|o| o.is_empty())
            && let Some(obj) = resources.as_object_mut()
        {
            obj.remove(group);
        }
    }
    for rule in resources["devices"].as_array_mut().into_iter().flatten() {
        for number in ["major", "minor"] {
            if rule[number] == -1
                && let Some(obj) = rule.as_object_mut()
            {
                obj.remove(number);
            }
        }
    }
}
