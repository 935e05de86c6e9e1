//! v2 memory: memory.max / memory.low / memory.swap.max (swap is separate from memory on v2).

use oci_spec::runtime::LinuxMemory;

use crate::CgroupError;

fn limit_value(value: i64) -> String {
    if value < 0 {
        "max".to_owned()
    } else {
        value.to_string()
    }
}

/// OCI's swap is memory+swap (the v1 meaning); v2's memory.swap.max is swap alone.
/// Returns `None` for "leave unset". Same rules as runc's ConvertMemorySwapToCgroupV2Value.
pub fn swap_max(swap: i64, limit: i64) -> Result<Option<i64>, CgroupError> {
    let invalid = |reason| CgroupError::InvalidResource {
        field: "linux.resources.memory.swap",
        value: swap.to_string(),
        reason,
    };
    // Unlimited memory without a swap setting means unlimited swap too.
    if limit == -1 && swap == 0 {
        return Ok(Some(-1));
    }
    match swap {
        0 => return Ok(None),
        -1 => return Ok(Some(-1)),
        _ => {}
    }
    if limit == 0 || limit == -1 {
        return Err(invalid("a swap limit needs a memory limit"));
    }
    if limit < 0 || swap < limit {
        return Err(invalid("memory+swap must be >= the memory limit"));
    }
    Ok(Some(swap - limit))
}

pub(super) fn plan(
    memory: &LinuxMemory,
    writes: &mut Vec<(String, String)>,
) -> Result<(), CgroupError> {
    let unsupported = |field, value: String| CgroupError::InvalidResource {
        field,
        value,
        reason: "cgroup v2 has no such knob",
    };
    if let Some(kernel) = memory.kernel().filter(|&v| v != 0) {
        return Err(unsupported(
            "linux.resources.memory.kernel",
            kernel.to_string(),
        ));
    }
    if let Some(tcp) = memory.kernel_tcp().filter(|&v| v != 0) {
        return Err(unsupported(
            "linux.resources.memory.kernelTCP",
            tcp.to_string(),
        ));
    }
    if let Some(swappiness) = memory.swappiness() {
        return Err(unsupported(
            "linux.resources.memory.swappiness",
            swappiness.to_string(),
        ));
    }
    if memory.disable_oom_killer() == Some(true) {
        return Err(unsupported(
            "linux.resources.memory.disableOOMKiller",
            "true".into(),
        ));
    }
    let limit = memory.limit().unwrap_or(0);
    if let Some(swap) = swap_max(memory.swap().unwrap_or(0), limit)? {
        writes.push(("memory.swap.max".into(), limit_value(swap)));
    }
    if limit != 0 {
        writes.push(("memory.max".into(), limit_value(limit)));
    }
    if let Some(low) = memory.reservation().filter(|&v| v != 0) {
        writes.push(("memory.low".into(), limit_value(low)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;

    #[test]
    fn swap_conversion() {
        assert_eq!(swap_max(0, 0).unwrap(), None);
        assert_eq!(swap_max(0, -1).unwrap(), Some(-1));
        assert_eq!(swap_max(-1, 100).unwrap(), Some(-1));
        assert_eq!(swap_max(300, 100).unwrap(), Some(200));
        assert_eq!(swap_max(100, 100).unwrap(), Some(0));
        assert!(swap_max(50, 100).is_err());
        assert!(swap_max(50, 0).is_err());
    }

    #[test]
    fn memory_writes() {
        let memory = LinuxMemoryBuilder::default()
            .limit(64 << 20)
            .swap(128 << 20)
            .reservation(32 << 20)
            .build()
            .unwrap();
        let mut writes = Vec::new();
        plan(&memory, &mut writes).unwrap();
        let expected: Vec<(String, String)> = vec![
            ("memory.swap.max".into(), (64u64 << 20).to_string()),
            ("memory.max".into(), (64u64 << 20).to_string()),
            ("memory.low".into(), (32u64 << 20).to_string()),
        ];
        assert_eq!(writes, expected);
        let unlimited = LinuxMemoryBuilder::default().limit(-1).build().unwrap();
        let mut writes = Vec::new();
        plan(&unlimited, &mut writes).unwrap();
        assert_eq!(
            writes,
            vec![
                ("memory.swap.max".into(), "max".into()),
                ("memory.max".into(), "max".into())
            ]
        );
        let kernel = LinuxMemoryBuilder::default()
            .kernel(1 << 20)
            .build()
            .unwrap();
        assert!(plan(&kernel, &mut Vec::new()).is_err());
    }
}
