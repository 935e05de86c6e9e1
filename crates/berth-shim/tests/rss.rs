//! Memory of a shim supervising `sleep 30` (VmRSS/VmHWM from /proc); printed, not asserted
//! against the target. For the number that matters, point it at a release build:
//! `cargo build --release -p berth-shim && BERTH_SHIM_EXE=$PWD/target/release/berth-shim \
//!  cargo test -p berth-shim --test rss -- --nocapture`.

mod common;

use std::time::Duration;

fn field(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{name} missing in /proc status"))
}

#[test]
fn measures_shim_memory() {
    let b = common::bundle(&["sleep", "30"]);
    let shim = common::start("rss", &b, &[]);
    assert_eq!(shim.status, 0, "report {}", shim.report);
    // Past the shim's idle trim (500 ms without events), into its steady state.
    std::thread::sleep(Duration::from_millis(1000));
    let status = std::fs::read_to_string(format!("/proc/{}/status", shim.shim_pid())).unwrap();
    let (rss, hwm) = (field(&status, "VmRSS:"), field(&status, "VmHWM:"));
    let (anon, file) = (field(&status, "RssAnon:"), field(&status, "RssFile:"));
    println!(
        "berth-shim supervising `sleep 30`: VmRSS {rss} kB (anon {anon} kB, file {file} kB), VmHWM {hwm} kB"
    );
    assert!(rss > 0 && hwm >= rss);
    let rollup =
        std::fs::read_to_string(format!("/proc/{}/smaps_rollup", shim.shim_pid())).unwrap();
    let private = field(&rollup, "Private_Clean:") + field(&rollup, "Private_Dirty:");
    println!(
        "  Pss {} kB, private (USS) {private} kB",
        field(&rollup, "Pss:")
    );
    // An anchor: the host's C `sleep` (glibc, dynamically linked) in the same units.
    let mut anchor = std::process::Command::new("sleep")
        .arg("5")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let anchor_status = std::fs::read_to_string(format!("/proc/{}/status", anchor.id())).unwrap();
    println!(
        "  anchor: host `sleep 5` VmRSS {} kB",
        field(&anchor_status, "VmRSS:")
    );
    let _ = anchor.kill();
    let _ = anchor.wait();
    for (mapping, kb) in rss_by_mapping(shim.shim_pid()) {
        println!("  {kb:>6} kB  {mapping}");
    }
    assert_eq!(shim.control(r#"{"kill":9}"#)["ok"], true);
    assert_eq!(shim.wait_exit(Duration::from_secs(20)).exit_code, 137);
}

/// Resident kB per mapped file and permissions (or [heap], [stack], anonymous), largest first.
fn rss_by_mapping(pid: i32) -> Vec<(String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut totals: Vec<(String, u64)> = Vec::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let perms = fields.get(1).copied().unwrap_or("?");
            current = format!("{} {perms}", fields.get(5).copied().unwrap_or("[anon]"));
        } else if let Some(kb) = line.strip_prefix("Rss:") {
            let kb: u64 = kb.trim().trim_end_matches("kB").trim().parse().unwrap();
            match totals.iter_mut().find(|(m, _)| *m == current) {
                Some((_, total)) => *total += kb,
                None => totals.push((current.clone(), kb)),
            }
        }
    }
    totals.sort_by_key(|(_, kb)| std::cmp::Reverse(*kb));
    totals.retain(|(_, kb)| *kb > 0);
    totals
}
