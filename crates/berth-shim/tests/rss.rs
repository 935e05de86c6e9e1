//! Memory of a shim supervising `sleep 30` (VmRSS/VmHWM from /proc); printed, not asserted
//! against the target. Run with `--release --nocapture` for the number that matters.

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
    std::thread::sleep(Duration::from_millis(300));
    let status = std::fs::read_to_string(format!("/proc/{}/status", shim.shim_pid())).unwrap();
    let (rss, hwm) = (field(&status, "VmRSS:"), field(&status, "VmHWM:"));
    let (anon, file) = (field(&status, "RssAnon:"), field(&status, "RssFile:"));
    println!(
        "berth-shim supervising `sleep 30`: VmRSS {rss} kB (anon {anon} kB, file {file} kB), VmHWM {hwm} kB"
    );
    assert!(rss > 0 && hwm >= rss);
    assert_eq!(shim.control(r#"{"kill":9}"#)["ok"], true);
    assert_eq!(shim.wait_exit(Duration::from_secs(20)).exit_code, 137);
}
