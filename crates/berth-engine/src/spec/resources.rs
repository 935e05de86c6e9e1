//! `linux.resources` from the HostConfig, as moby's `getMemoryResources`, `getCPUResources`,
//! `getPidsLimit` and `getBlkioWeight...` map them (zero means "unset" throughout).

use bollard_stubs::models::HostConfig;
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxPids, LinuxResources,
};

use super::SpecError;

/// The CFS period Docker uses for `--cpus` (100ms in µs).
const NANO_CPUS_PERIOD: u64 = 100_000;

pub fn build(
    host: &HostConfig,
    device_rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, SpecError> {
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(device_rules));
    resources.set_memory(memory(host)?);
    resources.set_cpu(cpu(host)?);
    resources.set_pids(host.pids_limit.filter(|l| *l > 0).map(|limit| {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        pids
    }));
    if let Some(weight) = host.blkio_weight.filter(|w| *w > 0) {
        if !(10..=1000).contains(&weight) {
            return Err(SpecError::InvalidResource {
                field: "BlkioWeight",
                value: i64::from(weight),
                reason: "must be between 10 and 1000",
            });
        }
        let mut blkio = LinuxBlockIo::default();
        blkio.set_weight(Some(weight));
        resources.set_block_io(Some(blkio));
    }
    Ok(resources)
}

fn positive(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v > 0)
}

fn memory(host: &HostConfig) -> Result<Option<LinuxMemory>, SpecError> {
    let limit = positive(host.memory);
    let reservation = positive(host.memory_reservation);
    // Docker's create: swap defaults to twice the memory limit; -1 is unlimited.
    let swap = match (host.memory_swap.unwrap_or(0), limit) {
        (0, Some(limit)) => Some(limit.saturating_mul(2)),
        (0, None) => None,
        (-1, _) => Some(-1),
        (s, _) if s < -1 => {
            return Err(SpecError::InvalidResource {
                field: "MemorySwap",
                value: s,
                reason: "must be -1 (unlimited) or positive",
            });
        }
        (s, Some(limit)) if s < limit => {
            return Err(SpecError::InvalidResource {
                field: "MemorySwap",
                value: s,
                reason: "must be at least Memory (it counts memory plus swap)",
            });
        }
        (s, _) => Some(s),
    };
    if let (Some(reservation), Some(limit)) = (reservation, limit)
        && reservation > limit
    {
        return Err(SpecError::InvalidResource {
            field: "MemoryReservation",
            value: reservation,
            reason: "must be smaller than Memory",
        });
    }
    let swappiness = match host.memory_swappiness {
        None | Some(-1) => None,
        Some(s @ 0..=100) => Some(s as u64),
        Some(s) => {
            return Err(SpecError::InvalidResource {
                field: "MemorySwappiness",
                value: s,
                reason: "must be between 0 and 100",
            });
        }
    };
    let oom_kill_disable = host.oom_kill_disable.filter(|d| *d);
    if limit.is_none()
        && reservation.is_none()
        && swap.is_none()
        && swappiness.is_none()
        && oom_kill_disable.is_none()
    {
        return Ok(None);
    }
    let mut memory = LinuxMemory::default();
    memory.set_limit(limit);
    memory.set_reservation(reservation);
    memory.set_swap(swap);
    memory.set_swappiness(swappiness);
    memory.set_disable_oom_killer(oom_kill_disable);
    Ok(Some(memory))
}

fn cpu(host: &HostConfig) -> Result<Option<LinuxCpu>, SpecError> {
    let nano = positive(host.nano_cpus);
    let mut period = positive(host.cpu_period).map(|p| p as u64);
    let mut quota = positive(host.cpu_quota);
    if let Some(nano) = nano {
        if period.is_some() || quota.is_some() {
            return Err(SpecError::ConflictingCpuOptions);
        }
        period = Some(NANO_CPUS_PERIOD);
        quota = Some(nano.saturating_mul(NANO_CPUS_PERIOD as i64) / 1_000_000_000);
    }
    let shares = positive(host.cpu_shares).map(|s| s as u64);
    let cpus = host.cpuset_cpus.clone().filter(|s| !s.is_empty());
    let mems = host.cpuset_mems.clone().filter(|s| !s.is_empty());
    let rt_period = positive(host.cpu_realtime_period).map(|p| p as u64);
    let rt_runtime = positive(host.cpu_realtime_runtime);
    if shares.is_none()
        && period.is_none()
        && quota.is_none()
        && cpus.is_none()
        && mems.is_none()
        && rt_period.is_none()
        && rt_runtime.is_none()
    {
        return Ok(None);
    }
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(shares);
    cpu.set_period(period);
    cpu.set_quota(quota);
    cpu.set_cpus(cpus);
    cpu.set_mems(mems);
    cpu.set_realtime_period(rt_period);
    cpu.set_realtime_runtime(rt_runtime);
    Ok(Some(cpu))
}
