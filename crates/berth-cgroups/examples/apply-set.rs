//! `apply-set ROUNDS`: times `manager() + apply(pid) + set(pids, memory)` for a fresh cgroup, ROUNDS
//! times, and prints min/median/max in microseconds (used by bench/cgroups.sh; needs root).

use std::time::{Duration, Instant};

use oci_spec::runtime::{LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    berth_cgroups::detect().expect("detect cgroups"); // cached per process, as in berth-runc
    let resources = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64i64 << 20)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(100i64).build().unwrap())
        .build()
        .unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("100")
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    let home = format!("/berth-bench-{}", std::process::id());
    let parking = berth_cgroups::manager(&home).expect("manager");
    parking.apply(pid).expect("apply parking cgroup");
    let mut samples: Vec<Duration> = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let started = Instant::now();
        let m = berth_cgroups::manager(&format!("{home}/c{i}")).expect("manager");
        m.apply(pid).expect("apply");
        m.set(&resources).expect("set");
        samples.push(started.elapsed());
        parking.apply(pid).expect("move back");
        m.destroy().expect("destroy");
    }
    let _ = child.kill();
    let _ = child.wait();
    parking.destroy().expect("destroy parking cgroup");
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{rounds} {:.0} {:.0} {:.0}",
        us(samples[0]),
        us(samples[rounds / 2]),
        us(samples[rounds - 1])
    );
}
