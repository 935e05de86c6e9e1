//! v1 cpuacct: CPU usage counters (stats only; there is nothing to set).

use std::path::Path;

use crate::stats::CpuUsage;
use crate::{CgroupError, fs};

/// cpuacct.stat counts in USER_HZ ticks; the kernel ABI fixes USER_HZ at 100.
const NANOS_PER_TICK: u64 = 1_000_000_000 / 100;

pub(super) fn stats(dir: &Path, usage: &mut CpuUsage) -> Result<(), CgroupError> {
    usage.total = fs::read_u64(dir, "cpuacct.usage")?;
    usage.percpu = read_list(dir, "cpuacct.usage_percpu")?;
    // Older kernels lack the split per-cpu files; their absence is not an error.
    usage.percpu_kernel = read_list(dir, "cpuacct.usage_percpu_sys").unwrap_or_default();
    usage.percpu_user = read_list(dir, "cpuacct.usage_percpu_user").unwrap_or_default();
    let stat = fs::read_flat_keyed(dir, "cpuacct.stat")?;
    usage.user = stat.get("user").copied().unwrap_or(0) * NANOS_PER_TICK;
    usage.kernel = stat.get("system").copied().unwrap_or(0) * NANOS_PER_TICK;
    Ok(())
}

fn read_list(dir: &Path, file: &str) -> Result<Vec<u64>, CgroupError> {
    let content = fs::read(dir, file)?;
    content
        .split_whitespace()
        .map(|v| {
            v.parse().map_err(|_| CgroupError::Parse {
                path: dir.join(file),
                what: "a per-cpu counter",
                content: v.to_owned(),
            })
        })
        .collect()
}
