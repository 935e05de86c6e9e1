//! `GET /containers/{id}/stats`: Docker's stats document from the container's cgroup
//! (berth-cgroups, v1 or v2), host CPU time from `/proc/stat`, and the interfaces of the
//! container's network namespace from `/proc/<pid>/net/dev`.

use std::collections::HashMap;
use std::time::SystemTime;

use bollard_stubs::models::{
    ContainerBlkioStatEntry, ContainerBlkioStats, ContainerCpuStats, ContainerCpuUsage,
    ContainerMemoryStats, ContainerNetworkStats, ContainerPidsStats, ContainerStatsResponse,
    ContainerStorageStats, ContainerThrottlingData,
};

use crate::error::{ErrorKind, HasKind};

/// Linux's USER_HZ, the unit of `/proc/stat` (Docker hard-codes it too).
const CLOCK_TICKS: u64 = 100;
/// Docker's zero time, for the `preread` of a first sample.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("reading the container's cgroup: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
    #[error("reading /proc/stat: {0}")]
    ProcStat(std::io::Error),
}

impl HasKind for StatsError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::System
    }
}

/// One reading of a container's counters.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: SystemTime,
    pub cgroup: berth_cgroups::Stats,
    /// Host CPU time in nanoseconds (all CPUs, all states).
    pub system_cpu: u64,
    pub online_cpus: u32,
    pub machine_memory: u64,
    /// None when the container shares no network namespace of its own worth reporting.
    pub networks: Option<HashMap<String, ContainerNetworkStats>>,
}

/// Reads the counters of the cgroup at `cgroups_path` whose init is `pid` (0 when stopped).
pub fn sample(cgroups_path: &str, pid: i32) -> Result<Sample, StatsError> {
    let cgroup = berth_cgroups::manager(cgroups_path)?.stats()?;
    let proc_stat = std::fs::read_to_string("/proc/stat").map_err(StatsError::ProcStat)?;
    let (system_cpu, online_cpus) = parse_proc_stat(&proc_stat);
    let networks = (pid > 0)
        .then(|| std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok())
        .flatten()
        .map(|text| parse_net_dev(&text))
        .filter(|n| !n.is_empty());
    Ok(Sample {
        at: SystemTime::now(),
        cgroup,
        system_cpu,
        online_cpus,
        machine_memory: machine_memory(),
        networks,
    })
}

/// Sums the `cpu` line (user nice system idle iowait irq softirq, as Docker) in nanoseconds,
/// and counts the `cpuN` lines.
pub fn parse_proc_stat(text: &str) -> (u64, u32) {
    let mut total = 0;
    let mut cpus = 0;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("cpu") => {
                let ticks: u64 = fields.take(7).filter_map(|f| f.parse::<u64>().ok()).sum();
                total = ticks.saturating_mul(1_000_000_000 / CLOCK_TICKS);
            }
            Some(name) if name.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    (total, cpus)
}

/// Every interface but loopback from `/proc/<pid>/net/dev`.
pub fn parse_net_dev(text: &str) -> HashMap<String, ContainerNetworkStats> {
    let mut out = HashMap::new();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name == "lo" {
            continue;
        }
        let n: Vec<u64> = counters
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        if n.len() < 12 {
            continue;
        }
        out.insert(
            name.to_string(),
            ContainerNetworkStats {
                rx_bytes: Some(n[0]),
                rx_packets: Some(n[1]),
                rx_errors: Some(n[2]),
                rx_dropped: Some(n[3]),
                tx_bytes: Some(n[8]),
                tx_packets: Some(n[9]),
                tx_errors: Some(n[10]),
                tx_dropped: Some(n[11]),
                ..Default::default()
            },
        );
    }
    out
}

fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn cpu_stats(s: &Sample) -> ContainerCpuStats {
    let usage = &s.cgroup.cpu.usage;
    let throttling = &s.cgroup.cpu.throttling;
    ContainerCpuStats {
        cpu_usage: Some(ContainerCpuUsage {
            total_usage: Some(usage.total),
            percpu_usage: (!usage.percpu.is_empty()).then(|| usage.percpu.clone()),
            usage_in_kernelmode: Some(usage.kernel),
            usage_in_usermode: Some(usage.user),
        }),
        system_cpu_usage: Some(s.system_cpu),
        online_cpus: Some(s.online_cpus),
        throttling_data: Some(ContainerThrottlingData {
            periods: Some(throttling.periods),
            throttled_periods: Some(throttling.throttled_periods),
            throttled_time: Some(throttling.throttled_time),
        }),
    }
}

fn blkio(entries: &[berth_cgroups::stats::BlkioEntry]) -> Option<Vec<ContainerBlkioStatEntry>> {
    (!entries.is_empty()).then(|| {
        entries
            .iter()
            .map(|e| ContainerBlkioStatEntry {
                major: Some(e.major),
                minor: Some(e.minor),
                op: Some(e.op.clone()),
                value: Some(e.value),
            })
            .collect()
    })
}

/// Docker's stats document for `cur`, with `prev` (a reading about a second earlier) as
/// `precpu_stats`; zeros when there is none, as Docker's first streamed sample.
pub fn document(
    cur: &Sample,
    prev: Option<&Sample>,
    name: &str,
    id: &str,
) -> ContainerStatsResponse {
    let memory = &cur.cgroup.memory;
    // An unlimited cgroup reports a huge number; Docker shows the machine's memory instead.
    let limit = match memory.usage.limit {
        0 => cur.machine_memory,
        l => l.min(cur.machine_memory.max(1)),
    };
    let pids = &cur.cgroup.pids;
    ContainerStatsResponse {
        id: Some(id.to_string()),
        name: Some(format!("/{name}")),
        os_type: None,
        read: Some(berth_oci::time::rfc3339_nano(cur.at)),
        preread: Some(prev.map_or(ZERO_TIME.to_string(), |p| {
            berth_oci::time::rfc3339_nano(p.at)
        })),
        cpu_stats: Some(cpu_stats(cur)),
        precpu_stats: Some(prev.map(cpu_stats).unwrap_or(ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(0),
                usage_in_kernelmode: Some(0),
                usage_in_usermode: Some(0),
                percpu_usage: None,
            }),
            throttling_data: Some(ContainerThrottlingData {
                periods: Some(0),
                throttled_periods: Some(0),
                throttled_time: Some(0),
            }),
            ..Default::default()
        })),
        memory_stats: Some(ContainerMemoryStats {
            usage: Some(memory.usage.usage),
            max_usage: (memory.usage.max > 0).then_some(memory.usage.max),
            stats: Some(memory.raw.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            failcnt: (memory.usage.failcnt > 0).then_some(memory.usage.failcnt),
            limit: Some(limit),
            ..Default::default()
        }),
        pids_stats: Some(ContainerPidsStats {
            current: Some(pids.current),
            limit: (pids.limit > 0).then_some(pids.limit),
        }),
        blkio_stats: Some(ContainerBlkioStats {
            io_service_bytes_recursive: blkio(&cur.cgroup.blkio.io_service_bytes_recursive),
            io_serviced_recursive: blkio(&cur.cgroup.blkio.io_serviced_recursive),
            ..Default::default()
        }),
        num_procs: Some(0),
        storage_stats: Some(ContainerStorageStats::default()),
        networks: cur.networks.clone(),
    }
}

#[cfg(test)]
mod tests;
