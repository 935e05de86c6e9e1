use super::*;

#[test]
fn parses_proc_stat_and_net_dev() {
    let stat = "cpu  100 5 50 1000 10 1 2 0 0 0\ncpu0 50 2 25 500 5 0 1 0 0 0\ncpu1 50 3 25 500 5 1 1 0 0 0\nintr 1\n";
    assert_eq!(parse_proc_stat(stat), (1168 * 10_000_000, 2));
    let dev = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    2048      10    1    2    0     0          0         0     4096      20    3    4    0     0       0          0\n";
    let nets = parse_net_dev(dev);
    assert_eq!(nets.len(), 1);
    let eth0 = &nets["eth0"];
    assert_eq!(
        (
            eth0.rx_bytes,
            eth0.rx_packets,
            eth0.rx_errors,
            eth0.rx_dropped
        ),
        (Some(2048), Some(10), Some(1), Some(2))
    );
    assert_eq!(
        (
            eth0.tx_bytes,
            eth0.tx_packets,
            eth0.tx_errors,
            eth0.tx_dropped
        ),
        (Some(4096), Some(20), Some(3), Some(4))
    );
}

/// A process in a cgroup of its own; killed and the cgroup removed on drop.
struct Busy {
    child: std::process::Child,
    cgroup: Box<dyn berth_cgroups::Manager>,
    path: String,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.cgroup.destroy();
    }
}

#[test]
fn samples_a_real_cgroup_into_dockers_document() {
    berth_testutil::require_root();
    let path = format!("/berth-io-stats-{}", std::process::id());
    let child = std::process::Command::new("sh")
        // Memory is charged where it is allocated: allocate after joining the cgroup.
        .args(["-c", "sleep 0.1; x=$(seq 1 50000); while :; do :; done"])
        .spawn()
        .unwrap();
    let cgroup = berth_cgroups::manager(&path).unwrap();
    let busy = Busy {
        child,
        cgroup,
        path,
    };
    busy.cgroup.apply(busy.child.id() as i32).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let first = sample(&busy.path, busy.child.id() as i32).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = sample(&busy.path, busy.child.id() as i32).unwrap();
    let doc = document(&second, Some(&first), "busy", "abc");
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["name"], "/busy");
    assert_eq!(json["pids_stats"]["current"], 1);
    let cpu = |k: &str| json[k]["cpu_usage"]["total_usage"].as_u64().unwrap();
    let sys = |k: &str| json[k]["system_cpu_usage"].as_u64().unwrap();
    assert!(cpu("cpu_stats") > cpu("precpu_stats"), "{json}");
    // The docker CLI's CPU%: a busy loop is well above zero and at most one CPU.
    let online = json["cpu_stats"]["online_cpus"].as_u64().unwrap() as f64;
    let percent = (cpu("cpu_stats") - cpu("precpu_stats")) as f64
        / (sys("cpu_stats") - sys("precpu_stats")) as f64
        * online
        * 100.0;
    assert!(percent > 20.0 && percent < 130.0, "cpu {percent}%");
    assert!(json["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert!(json["memory_stats"]["limit"].as_u64().unwrap() <= second.machine_memory);
    assert!(
        json["memory_stats"]["stats"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
    );
    let first_doc = serde_json::to_value(document(&first, None, "busy", "abc")).unwrap();
    assert_eq!(first_doc["preread"], ZERO_TIME);
    assert_eq!(first_doc["precpu_stats"]["cpu_usage"]["total_usage"], 0);
}
