//! `docker events` against berthd: the container, exec, oom, volume, network and image events
//! Docker sends, with Docker's attributes, and the filters (type, event, container, image,
//! volume, network, label, since, until).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::Daemon;
use serde_json::Value;

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The events kept since `since`, up to now, matching `filters` (`key=value` each).
fn events(d: &Daemon, since: f64, filters: &[&str]) -> Vec<Value> {
    let since = format!("{since:.9}");
    let until = format!("{:.9}", now_secs() + 0.5);
    let mut args = vec![
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "{{json .}}",
    ];
    for f in filters {
        args.extend(["--filter", f]);
    }
    d.ok(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn actions(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["Type"].as_str().unwrap_or(""),
                e["Action"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The first event of `kind` and `action`, asserting there is one.
fn find<'a>(events: &'a [Value], kind: &str, action: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["Type"] == kind && e["Action"] == action)
        .unwrap_or_else(|| panic!("no {kind} {action} in {:?}", actions(events)))
}

#[test]
fn container_and_exec_events_carry_dockers_attributes_and_filter() {
    let d = Daemon::start();
    let t0 = now_secs() - 0.001;
    let id = d.ok(&[
        "run",
        "-d",
        "--name",
        "ev",
        "--label",
        "live5=yes",
        "busybox",
        "sleep",
        "300",
    ]);
    d.ok(&["exec", "ev", "true"]);
    d.ok(&["stop", "-t", "0", "ev"]);
    d.ok(&["rm", "ev"]);
    let all = events(&d, t0, &["container=ev"]);
    let seen = actions(&all);
    for action in [
        "create",
        "start",
        "exec_create: true",
        "exec_start: true",
        "exec_die",
        "kill",
        "die",
        "stop",
        "destroy",
    ] {
        let event = find(&all, "container", action);
        let attrs = &event["Actor"]["Attributes"];
        assert_eq!(event["Actor"]["ID"], id.as_str(), "{action}");
        assert_eq!(attrs["name"], "ev", "{action}: {event}");
        assert_eq!(attrs["image"], "busybox", "{action}: {event}");
        if !action.starts_with("exec_") {
            assert_eq!(attrs["live5"], "yes", "{action}: {event}");
            assert_eq!(event["from"], "busybox", "{action}");
            assert_eq!(event["status"], action, "{action}");
        }
        assert_eq!(event["scope"], "local");
    }
    assert!(
        seen.iter().position(|a| a == "container create")
            < seen.iter().position(|a| a == "container destroy")
    );
    assert_eq!(
        find(&all, "container", "die")["Actor"]["Attributes"]["exitCode"],
        "137"
    );
    assert_eq!(
        find(&all, "container", "kill")["Actor"]["Attributes"]["signal"],
        "15"
    );
    assert_eq!(
        find(&all, "container", "exec_die")["Actor"]["Attributes"]["exitCode"],
        "0"
    );
    // Filters.
    let dies = events(&d, t0, &["event=die"]);
    assert_eq!(actions(&dies), ["container die"]);
    let execs = events(&d, t0, &["event=exec_start"]);
    assert_eq!(actions(&execs), ["container exec_start: true"]);
    assert_eq!(
        events(&d, t0, &["label=live5=yes", "event=create"]).len(),
        1
    );
    assert_eq!(events(&d, t0, &["label=live5=no"]).len(), 0);
    assert_eq!(
        events(&d, t0, &["image=busybox", "event=start"]).len(),
        1,
        "image filter"
    );
    assert_eq!(
        events(&d, t0, &[&format!("container={}", &id[..12]), "event=stop"]).len(),
        1
    );
    assert_eq!(events(&d, t0, &["container=other"]).len(), 0);
    assert!(events(&d, t0, &["type=container"]).len() >= seen.len());
    assert_eq!(events(&d, t0, &["type=image"]).len(), 0);
    // since/until bound the window.
    let later = now_secs();
    assert_eq!(events(&d, later, &[]).len(), 0);
    let until = format!("{t0:.9}");
    let before = d.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &until,
        "--filter",
        "container=ev",
    ]);
    assert_eq!(before, "");
}

#[test]
fn a_memory_hog_is_oom_killed_and_reported() {
    let d = Daemon::start();
    let t0 = now_secs() - 0.001;
    let out = d.docker(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "tail /dev/zero",
    ]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "{out:?}\nberthd log:\n{}",
        d.log()
    );
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "hog"
        ]),
        "true 137"
    );
    let all = events(&d, t0, &["container=hog"]);
    let oom = find(&all, "container", "oom");
    assert_eq!(oom["Actor"]["Attributes"]["name"], "hog");
    assert_eq!(actions(&events(&d, t0, &["event=oom"])), ["container oom"]);
    d.ok(&["rm", "hog"]);
}

#[test]
fn volume_network_and_image_events() {
    let d = Daemon::start();
    let t0 = now_secs() - 0.001;
    d.ok(&["volume", "create", "--label", "kind=test", "evvol"]);
    d.ok(&["network", "create", "evnet"]);
    d.ok(&[
        "run",
        "--name",
        "user",
        "--network",
        "evnet",
        "-v",
        "evvol:/data:ro",
        "busybox",
        "true",
    ]);
    let id = d.ok(&["inspect", "-f", "{{.Id}}", "user"]);
    d.ok(&["rm", "user"]);
    // Explicit connect and disconnect of a running container.
    let netc = d.ok(&["run", "-d", "--name", "netc", "busybox", "sleep", "300"]);
    d.ok(&["network", "connect", "evnet", "netc"]);
    d.ok(&["network", "disconnect", "evnet", "netc"]);
    d.ok(&["rm", "-f", "netc"]);
    d.ok(&["volume", "rm", "evvol"]);
    d.ok(&["network", "rm", "evnet"]);
    d.ok(&["tag", "busybox", "live5/tagged:one"]);
    d.ok(&["rmi", "live5/tagged:one"]);
    let archive = d.dir.path().join("bb.tar");
    d.ok(&["save", "-o", &archive.to_string_lossy(), "busybox"]);
    d.ok(&["load", "-i", &archive.to_string_lossy()]);
    let rootfs = d.dir.path().join("rootfs.tar");
    {
        let file = std::fs::File::create(&rootfs).unwrap();
        let mut tar = tar::Builder::new(file);
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "hello", &b"hi\n"[..]).unwrap();
        tar.finish().unwrap();
    }
    let imported = d.ok(&["import", &rootfs.to_string_lossy(), "live5/imported:v1"]);
    d.ok(&["rmi", "live5/imported:v1"]);
    let all = events(&d, t0, &[]);

    let vol = events(&d, t0, &["type=volume"]);
    assert_eq!(
        actions(&vol),
        [
            "volume create",
            "volume mount",
            "volume unmount",
            "volume destroy"
        ]
    );
    assert!(vol.iter().all(|e| e["Actor"]["ID"] == "evvol"));
    assert_eq!(vol[0]["Actor"]["Attributes"]["driver"], "local");
    let mount = &vol[1]["Actor"]["Attributes"];
    assert_eq!(mount["container"], id.as_str());
    assert_eq!(mount["destination"], "/data");
    assert_eq!(mount["read/write"], "false");
    // As Docker: `volume=` alone drops every event not of that volume.
    assert_eq!(events(&d, t0, &["volume=evvol"]).len(), 4);
    assert_eq!(events(&d, t0, &["volume=other", "type=volume"]).len(), 0);

    // The run's start connects and its exit disconnects; then the explicit pair.
    let net = events(&d, t0, &["type=network", "network=evnet"]);
    assert_eq!(
        actions(&net),
        [
            "network create",
            "network connect",
            "network disconnect",
            "network connect",
            "network disconnect",
            "network destroy"
        ],
    );
    let connect = &net[1]["Actor"]["Attributes"];
    assert_eq!(connect["container"], id.as_str());
    assert_eq!(connect["name"], "evnet");
    assert_eq!(connect["type"], "bridge");
    assert_eq!(net[2]["Actor"]["Attributes"]["container"], id.as_str());
    assert_eq!(net[3]["Actor"]["Attributes"]["container"], netc.as_str());
    assert_eq!(net[4]["Actor"]["Attributes"]["container"], netc.as_str());
    // netc's own run on the default bridge.
    let bridge = events(&d, t0, &["type=network", "network=bridge"]);
    assert_eq!(
        actions(&bridge),
        ["network connect", "network disconnect"],
        "{bridge:?}"
    );
    assert!(
        bridge
            .iter()
            .all(|e| e["Actor"]["Attributes"]["container"] == netc.as_str())
    );

    let img: Vec<Value> = all
        .iter()
        .filter(|e| e["Type"] == "image")
        .cloned()
        .collect();
    let img_actions = actions(&img);
    for action in ["tag", "untag", "save", "load", "import", "delete"] {
        find(&img, "image", action);
    }
    let tag = find(&img, "image", "tag");
    assert_eq!(
        tag["Actor"]["Attributes"]["name"], "live5/tagged:one",
        "{tag}"
    );
    let import = find(&img, "image", "import");
    assert!(
        imported.contains(import["Actor"]["ID"].as_str().unwrap_or("?")),
        "{import} vs {imported}"
    );
    assert_eq!(
        events(&d, t0, &["type=image", "event=import"]).len(),
        1,
        "{img_actions:?}"
    );
    let deletes = events(&d, t0, &["type=image", "event=delete"]);
    assert_eq!(deletes.len(), 1, "{img_actions:?}");
    assert_eq!(deletes[0]["Actor"]["ID"], import["Actor"]["ID"]);
    // Docker names the image by ID in untag and delete events: only the tag names it.
    assert_eq!(
        actions(&events(&d, t0, &["image=live5/tagged:one"])),
        ["image tag"]
    );
}
