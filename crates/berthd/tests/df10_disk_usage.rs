//! `GET /system/df` and `system df [-v]`: local volumes with their size and reference
//! count, build cache records after a build, the `type` parameter, and the berth CLI
//! printing what the docker CLI prints for the same daemon.

mod common;
mod df10_support;

use common::Daemon;
use df10_support::{api, berth_ok, build, docker_raw};
use serde_json::Value;

fn volume<'a>(df: &'a Value, name: &str) -> &'a Value {
    df["Volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["Name"] == name))
        .unwrap_or_else(|| panic!("volume {name} not in {df}"))
}

#[test]
fn df_lists_volumes_with_size_and_refcount_and_honours_type() {
    let d = Daemon::start();
    let used = format!("df10-used-{}", std::process::id());
    let idle = format!("df10-idle-{}", std::process::id());
    d.ok(&["volume", "create", &idle]);
    // 1000 bytes in one file plus a hard link to it (counted once) and a symlink (its own
    // length, 1 byte: the target name "f").
    d.ok(&[
        "run",
        "--network",
        "none",
        "-v",
        &format!("{used}:/data"),
        "busybox",
        "sh",
        "-c",
        "head -c 1000 /dev/zero > /data/f && ln /data/f /data/hard && ln -s f /data/link && mkdir /data/d",
    ]);

    let (status, df) = api(&d, "GET", "/v1.41/system/df");
    assert_eq!(status, 200, "{df}");
    let v = volume(&df, &used);
    assert_eq!(v["UsageData"]["Size"], 1001, "{v}");
    assert_eq!(v["UsageData"]["RefCount"], 1, "{v}");
    assert_eq!(v["Driver"], "local");
    let v = volume(&df, &idle);
    assert_eq!(v["UsageData"]["Size"], 0, "{v}");
    assert_eq!(v["UsageData"]["RefCount"], 0, "{v}");
    assert!(
        df["Images"].as_array().is_some_and(|i| !i.is_empty()),
        "{df}"
    );
    assert_eq!(df["Containers"].as_array().map(Vec::len), Some(1), "{df}");
    assert!(df["BuildCache"].is_array(), "{df}");

    // Only what `type` names is computed; the rest is null.
    let (status, only) = api(&d, "GET", "/system/df?type=volume");
    assert_eq!(status, 200, "{only}");
    assert_eq!(only["Volumes"].as_array().map(Vec::len), Some(2), "{only}");
    assert!(
        only["Images"].is_null() && only["Containers"].is_null(),
        "{only}"
    );
    assert!(only["BuildCache"].is_null(), "{only}");
    assert_eq!(only["LayersSize"], 0, "{only}");
    let (status, two) = api(&d, "GET", "/system/df?type=container&type=image");
    assert_eq!(status, 200, "{two}");
    assert_eq!(two["Containers"].as_array().map(Vec::len), Some(1), "{two}");
    assert!(two["LayersSize"].as_u64().is_some_and(|n| n > 0), "{two}");
    assert!(
        two["Volumes"].is_null() && two["BuildCache"].is_null(),
        "{two}"
    );
    // An unknown kind is refused as dockerd refuses it.
    let (status, err) = api(&d, "GET", "/system/df?type=disks");
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["message"], "unknown object type: disks");

    // Once the container is gone the volume has no references.
    d.ok(&["container", "prune", "-f"]);
    let (_, df) = api(&d, "GET", "/system/df?type=volume");
    assert_eq!(volume(&df, &used)["UsageData"]["RefCount"], 0);
    d.ok(&["volume", "rm", &used, &idle]);
}

#[test]
fn df_lists_build_cache_after_a_build() {
    let d = Daemon::start();
    let dir = d.dir.path().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\n\
         RUN head -c 3000 /dev/zero > /blob\n\
         RUN --mount=type=cache,target=/cache head -c 500 /dev/zero > /cache/c && echo two > /two\n",
    )
    .unwrap();
    build(&d, &dir, "df10-built");

    let (status, df) = api(&d, "GET", "/v1.41/system/df?type=build-cache");
    assert_eq!(status, 200, "{df}");
    let cache = df["BuildCache"].as_array().expect("BuildCache list");
    let regular: Vec<&Value> = cache.iter().filter(|c| c["Type"] == "regular").collect();
    assert_eq!(regular.len(), 2, "{df}");
    let first = regular
        .iter()
        .find(|c| c["Description"].as_str().unwrap_or("").contains("/blob"))
        .unwrap_or_else(|| panic!("no record of the first RUN: {df}"));
    let second = regular
        .iter()
        .find(|c| c["Description"].as_str().unwrap_or("").contains("/two"))
        .unwrap_or_else(|| panic!("no record of the second RUN: {df}"));
    assert!(first["Size"].as_u64().is_some_and(|s| s >= 3000), "{first}");
    // Both layers are the built image's: shared with it, not reclaimable.
    assert_eq!(first["Shared"], true, "{first}");
    assert_eq!(second["Parents"], serde_json::json!([first["ID"]]), "{df}");
    assert_eq!(second["Parent"], first["ID"], "API 1.41 also sends Parent");
    for c in cache {
        assert_eq!(c["InUse"], false, "{c}");
        assert!(
            c["CreatedAt"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{c}"
        );
        assert!(c["LastUsedAt"].is_string(), "{c}");
        assert!(c["UsageCount"].as_u64().is_some_and(|n| n >= 1), "{c}");
    }
    let mount = cache
        .iter()
        .find(|c| c["Type"] == "exec.cachemount")
        .unwrap_or_else(|| panic!("no cache mount: {df}"));
    assert_eq!(mount["Size"], 500, "{mount}");
    let total: u64 = cache.iter().filter_map(|c| c["Size"].as_u64()).sum();
    assert_eq!(df["BuilderSize"], total, "{df}");
    assert!(df["Volumes"].is_null(), "{df}");

    // Pruning everything empties the listing.
    d.ok(&["builder", "prune", "-af"]);
    let (_, df) = api(&d, "GET", "/system/df?type=build-cache");
    assert_eq!(df["BuildCache"], serde_json::json!([]), "{df}");
}

/// `berth system df [-v]` prints byte for byte what `docker system df [-v]` prints, with a
/// volume, a container, an image and build cache to show.
#[test]
fn berth_system_df_prints_what_docker_prints() {
    let d = Daemon::start();
    let vol = format!("df10-cli-{}", std::process::id());
    d.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "df10-writer",
        "-v",
        &format!("{vol}:/data"),
        "busybox",
        "sh",
        "-c",
        "head -c 2500 /dev/zero > /data/f && echo hi > /rootfs-file",
    ]);
    let dir = d.dir.path().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nRUN head -c 4000 /dev/zero > /blob\n",
    )
    .unwrap();
    build(&d, &dir, "df10-cli-built");

    for verbose in [false, true] {
        let args: &[&str] = if verbose {
            &["system", "df", "-v"]
        } else {
            &["system", "df"]
        };
        // "N seconds ago" may tick between the two runs: compare again when they differ.
        let mut same = false;
        let (mut ours, mut theirs) = (String::new(), String::new());
        for _ in 0..3 {
            theirs = docker_raw(&d, args);
            ours = berth_ok(&d, args);
            if ours == theirs {
                same = true;
                break;
            }
        }
        assert!(same, "berth {args:?}:\n{ours}\ndocker {args:?}:\n{theirs}");
        let sections: &[&str] = if verbose {
            &[
                "Images space usage:",
                "Containers space usage:",
                "Local Volumes space usage:",
                "Build cache usage: ",
                &vol,
                "df10-writer",
            ]
        } else {
            &[
                "TYPE",
                "Images",
                "Containers",
                "Local Volumes",
                "Build Cache",
            ]
        };
        for s in sections {
            assert!(ours.contains(s), "{s:?} missing:\n{ours}");
        }
    }
    d.ok(&["rm", "df10-writer"]);
    d.ok(&["volume", "rm", &vol]);
}
