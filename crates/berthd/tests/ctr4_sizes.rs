//! Container sizes as Docker reports them: `SizeRw` and `SizeRootFs` (image layers plus what
//! the container wrote) in `ps -s` and `inspect -s`, and the containers of `system df`.

mod common;
mod ctr4_support;

use common::Daemon;
use ctr4_support::eventually;

/// `GET path` on the daemon's socket (curl: the answers here are JSON arrays too).
fn get(d: &Daemon, path: &str) -> serde_json::Value {
    let out = std::process::Command::new(berth_testutil::require_program("curl"))
        .args(["-sf", "--unix-socket"])
        .arg(d.socket())
        .arg(format!("http://berthd{path}"))
        .output()
        .expect("run curl");
    assert!(out.status.success(), "GET {path} failed");
    serde_json::from_slice(&out.stdout).expect("JSON answer")
}

#[test]
fn ps_inspect_and_system_df_report_container_sizes() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "sz",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /written && sleep 300",
    ]);
    eventually("the container to write its file", || {
        d.docker(&["exec", "sz", "test", "-f", "/written"])
            .status
            .success()
    });
    let image = get(&d, "/images/busybox/json");
    let image_size = image["Size"].as_i64().unwrap();
    assert!(image_size > 1_000_000, "{image}");

    let list = get(&d, "/containers/json?size=1");
    let row = &list[0];
    let size_rw = row["SizeRw"].as_i64().unwrap();
    assert!(
        (100_000..200_000).contains(&size_rw),
        "SizeRw {size_rw}: {row}"
    );
    assert_eq!(
        row["SizeRootFs"].as_i64(),
        Some(image_size + size_rw),
        "{row}"
    );
    // Without size=1 neither is computed.
    let plain = get(&d, "/containers/json");
    assert!(
        plain[0].get("SizeRootFs").is_none_or(|v| v.is_null()),
        "{plain}"
    );

    let inspect = get(&d, "/containers/sz/json?size=1");
    assert_eq!(inspect["SizeRw"].as_i64(), Some(size_rw));
    assert_eq!(inspect["SizeRootFs"].as_i64(), Some(image_size + size_rw));
    let shown = d.ok(&["ps", "-s", "--format", "{{.Size}}"]);
    assert!(
        shown.starts_with("100kB (virtual ") && shown.trim_end().ends_with("MB)"),
        "{shown}"
    );

    let df = get(&d, "/system/df");
    let containers = df["Containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{df}");
    assert_eq!(containers[0]["Names"][0], "/sz");
    assert_eq!(containers[0]["SizeRw"].as_i64(), Some(size_rw));
    let table = d.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert!(table.contains("Containers 1 1"), "{table}");
    d.ok(&["rm", "-f", "sz"]);
}
