//! v1 memory: limits (with the memsw ordering rules), reservation, kernel limits, swappiness,
//! OOM killer switch; usage counters and the OOM kill count.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::stats::{Memory, MemoryEntry};
use crate::{CgroupError, fs};

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";

pub(super) fn set(dir: Option<&Path>, memory: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = memory.limit().filter(|&v| v != 0);
    let mut swap = memory.swap().filter(|&v| v != 0);
    let reservation = memory.reservation().filter(|&v| v != 0);
    let kernel = memory.kernel().filter(|&v| v != 0);
    let kernel_tcp = memory.kernel_tcp().filter(|&v| v != 0);
    let swappiness = memory.swappiness();
    let disable_oom = memory.disable_oom_killer().filter(|&v| v);
    let requested = limit.is_some()
        || swap.is_some()
        || reservation.is_some()
        || kernel.is_some()
        || kernel_tcp.is_some()
        || swappiness.is_some()
        || disable_oom.is_some();
    if !requested {
        return Ok(());
    }
    let dir = super::require_dir(dir, "memory", "linux.resources.memory")?;

    // Unlimited memory with swap unset means unlimited swap too (runc/docker semantics).
    if limit == Some(-1) && swap.is_none() {
        swap = Some(-1);
    }
    set_limit_and_swap(dir, limit, swap)?;

    if let Some(reservation) = reservation {
        fs::write(dir, "memory.soft_limit_in_bytes", &reservation.to_string())?;
    }
    if let Some(kernel) = kernel {
        fs::write(dir, "memory.kmem.limit_in_bytes", &kernel.to_string())?;
    }
    if let Some(kernel_tcp) = kernel_tcp {
        fs::write(
            dir,
            "memory.kmem.tcp.limit_in_bytes",
            &kernel_tcp.to_string(),
        )?;
    }
    if let Some(swappiness) = swappiness {
        if swappiness > 100 {
            return Err(CgroupError::InvalidResource {
                field: "linux.resources.memory.swappiness",
                value: swappiness.to_string(),
                reason: "must be between 0 and 100",
            });
        }
        fs::write(dir, "memory.swappiness", &swappiness.to_string())?;
    }
    if disable_oom.is_some() {
        fs::write(dir, "memory.oom_control", "1")?;
    }
    Ok(())
}

/// The kernel requires memory.limit <= memsw.limit at every moment, so when raising swap above
/// the current limit (or making it unlimited) write memsw first, otherwise the limit first.
fn set_limit_and_swap(
    dir: &Path,
    limit: Option<i64>,
    swap: Option<i64>,
) -> Result<(), CgroupError> {
    if let (Some(limit), Some(swap)) = (limit, swap) {
        if swap != -1 && swap < limit {
            return Err(CgroupError::InvalidResource {
                field: "linux.resources.memory.swap",
                value: swap.to_string(),
                reason: "memory+swap must be >= the memory limit",
            });
        }
        let current = fs::read_u64(dir, LIMIT)?;
        let swap_first = swap == -1 || u64::try_from(swap).is_ok_and(|s| current < s);
        if swap_first {
            fs::write(dir, MEMSW_LIMIT, &swap.to_string())?;
            return fs::write(dir, LIMIT, &limit.to_string());
        }
    }
    if let Some(limit) = limit {
        fs::write(dir, LIMIT, &limit.to_string())?;
    }
    if let Some(swap) = swap {
        fs::write(dir, MEMSW_LIMIT, &swap.to_string())?;
    }
    Ok(())
}

pub(super) fn stats(dir: &Path) -> Result<Memory, CgroupError> {
    let raw = fs::read_flat_keyed(dir, "memory.stat")?;
    let cache = raw
        .get("total_cache")
        .or(raw.get("cache"))
        .copied()
        .unwrap_or(0);
    Ok(Memory {
        cache,
        usage: entry(dir, "memory")?,
        // Without swap accounting the memsw files are missing: report zeros, as runc does.
        swap: entry(dir, "memory.memsw").unwrap_or_default(),
        kernel: entry(dir, "memory.kmem").unwrap_or_default(),
        kernel_tcp: entry(dir, "memory.kmem.tcp").unwrap_or_default(),
        raw,
    })
}

fn entry(dir: &Path, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    Ok(MemoryEntry {
        limit: fs::read_u64(dir, &format!("{prefix}.limit_in_bytes"))?,
        usage: fs::read_u64(dir, &format!("{prefix}.usage_in_bytes"))?,
        max: fs::read_u64(dir, &format!("{prefix}.max_usage_in_bytes"))?,
        failcnt: fs::read_u64(dir, &format!("{prefix}.failcnt"))?,
    })
}

/// `oom_kill` in memory.oom_control (kernel >= 4.13).
pub(super) fn oom_kill_count(dir: &Path) -> Result<u64, CgroupError> {
    let control = fs::read_flat_keyed(dir, "memory.oom_control")?;
    control
        .get("oom_kill")
        .copied()
        .ok_or_else(|| CgroupError::Parse {
            path: dir.join("memory.oom_control"),
            what: "the oom_kill counter (kernel >= 4.13)",
            content: String::new(),
        })
}
