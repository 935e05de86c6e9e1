//! v1 cpu: shares, CFS quota/period/burst, idle and realtime budget; throttling counters.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::stats::Throttling;
use crate::{CgroupError, fs};

pub(super) fn set(dir: Option<&Path>, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let shares = cpu.shares().filter(|&v| v != 0);
    let period = cpu.period().filter(|&v| v != 0);
    let quota = cpu.quota().filter(|&v| v != 0);
    let burst = cpu.burst();
    let idle = cpu.idle().filter(|&v| v != 0);
    let rt_period = cpu.realtime_period().filter(|&v| v != 0);
    let rt_runtime = cpu.realtime_runtime().filter(|&v| v != 0);
    let requested = shares.is_some()
        || period.is_some()
        || quota.is_some()
        || burst.is_some()
        || idle.is_some()
        || rt_period.is_some()
        || rt_runtime.is_some();
    if !requested {
        return Ok(());
    }
    let dir = super::require_dir(dir, "cpu", "linux.resources.cpu")?;

    // Realtime budget first: runc's order, the scheduler checks it against the parent's.
    if let Some(rt_period) = rt_period {
        fs::write(dir, "cpu.rt_period_us", &rt_period.to_string())?;
    }
    if let Some(rt_runtime) = rt_runtime {
        fs::write(dir, "cpu.rt_runtime_us", &rt_runtime.to_string())?;
    }
    if let Some(shares) = shares {
        fs::write(dir, "cpu.shares", &shares.to_string())?;
        // The kernel clamps shares silently; report the clamp instead of hiding it.
        let effective = fs::read_u64(dir, "cpu.shares")?;
        if effective != shares {
            return Err(CgroupError::InvalidResource {
                field: "linux.resources.cpu.shares",
                value: shares.to_string(),
                reason: "the kernel clamped it (allowed range is 2..=262144)",
            });
        }
    }
    set_bandwidth(dir, period, quota)?;
    if let Some(burst) = burst {
        fs::write(dir, "cpu.cfs_burst_us", &burst.to_string())?;
    }
    if let Some(idle) = idle {
        fs::write(dir, "cpu.idle", &idle.to_string())?;
    }
    Ok(())
}

/// A smaller period may be refused (EINVAL) while the old quota still applies: then write the
/// quota first and the period after it, as runc does.
fn set_bandwidth(dir: &Path, period: Option<u64>, quota: Option<i64>) -> Result<(), CgroupError> {
    let mut period_pending = None;
    if let Some(period) = period {
        match fs::write(dir, "cpu.cfs_period_us", &period.to_string()) {
            Ok(()) => {}
            Err(CgroupError::Write { source, .. })
                if source.raw_os_error() == Some(libc::EINVAL) && quota.is_some() =>
            {
                period_pending = Some(period);
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(quota) = quota {
        fs::write(dir, "cpu.cfs_quota_us", &quota.to_string())?;
    }
    if let Some(period) = period_pending {
        fs::write(dir, "cpu.cfs_period_us", &period.to_string())?;
    }
    Ok(())
}

/// `cpu.stat`: nr_periods, nr_throttled, throttled_time (ns).
pub(super) fn stats(dir: &Path, throttling: &mut Throttling) -> Result<(), CgroupError> {
    let stat = fs::read_flat_keyed(dir, "cpu.stat")?;
    throttling.periods = stat.get("nr_periods").copied().unwrap_or(0);
    throttling.throttled_periods = stat.get("nr_throttled").copied().unwrap_or(0);
    throttling.throttled_time = stat.get("throttled_time").copied().unwrap_or(0);
    Ok(())
}
