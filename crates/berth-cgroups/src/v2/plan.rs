//! Turns `linux.resources` into the ordered list of v2 file writes (devices aside: they become
//! an eBPF program). Pure, so the mapping is unit-tested without a v2 host.

use oci_spec::runtime::LinuxResources;

use crate::CgroupError;

/// Ordered `(file, value)` writes for the container's cgroup directory. `bfq` tells whether the
/// cgroup offers io.bfq.weight.
pub fn plan(resources: &LinuxResources, bfq: bool) -> Result<Vec<(String, String)>, CgroupError> {
    let mut writes = Vec::new();
    if let Some(cpu) = resources.cpu() {
        super::cpu::plan(cpu, &mut writes)?;
    }
    if let Some(memory) = resources.memory() {
        super::memory::plan(memory, &mut writes)?;
    }
    if let Some(value) = resources
        .pids()
        .as_ref()
        .and_then(crate::v1::pids::limit_value)
    {
        writes.push(("pids.max".into(), value));
    }
    if let Some(io) = resources.block_io() {
        super::io::plan(io, bfq, &mut writes);
    }
    for limit in resources.hugepage_limits().as_deref().unwrap_or_default() {
        let file = format!("hugetlb.{}.max", limit.page_size());
        writes.push((file, limit.limit().to_string()));
    }
    if let Some(network) = resources.network() {
        let requested = network.class_id().is_some_and(|id| id != 0)
            || network.priorities().as_ref().is_some_and(|p| !p.is_empty());
        if requested {
            return Err(CgroupError::InvalidResource {
                field: "linux.resources.network",
                value: format!("{network:?}"),
                reason: "net_cls/net_prio do not exist on cgroup v2",
            });
        }
    }
    // Unified entries come last so they override the typed fields, as in runc.
    if let Some(unified) = resources.unified() {
        let mut keys: Vec<&String> = unified.keys().collect();
        keys.sort();
        for key in keys {
            validate_unified_key(key)?;
            writes.push((key.clone(), unified[key].clone()));
        }
    }
    Ok(writes)
}

/// A unified key must be a plain `controller.knob` file name inside the cgroup directory.
fn validate_unified_key(key: &str) -> Result<(), CgroupError> {
    let plain = !key.is_empty()
        && !key.contains('/')
        && !key.contains('\0')
        && key.contains('.')
        && !key.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(CgroupError::InvalidUnifiedKey {
            key: key.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxNetworkBuilder, LinuxPidsBuilder,
        LinuxResourcesBuilder,
    };
    use std::collections::HashMap;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn full_mapping_in_order() {
        let resources = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(512u64)
                    .quota(50_000i64)
                    .period(100_000u64)
                    .cpus("0")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(-1i64).build().unwrap())
            .hugepage_limits(vec![
                LinuxHugepageLimitBuilder::default()
                    .page_size("2MB")
                    .limit(4_194_304i64)
                    .build()
                    .unwrap(),
            ])
            .unified(HashMap::from([(
                "memory.high".to_owned(),
                "1000000".to_owned(),
            )]))
            .build()
            .unwrap();
        assert_eq!(
            plan(&resources, false).unwrap(),
            pairs(&[
                ("cpu.weight", "20"),
                ("cpu.max", "50000 100000"),
                ("cpuset.cpus", "0"),
                ("pids.max", "max"),
                ("hugetlb.2MB.max", "4194304"),
                ("memory.high", "1000000"),
            ])
        );
    }

    #[test]
    fn zero_fields_are_not_written() {
        let resources = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(0u64)
                    .quota(0i64)
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(0i64).build().unwrap())
            .build()
            .unwrap();
        assert!(plan(&resources, false).unwrap().is_empty());
    }

    #[test]
    fn rejects_escaping_unified_keys_and_network() {
        for key in ["../memory.max", "memory", "/etc/passwd", ".x"] {
            let resources = LinuxResourcesBuilder::default()
                .unified(HashMap::from([(key.to_owned(), "1".to_owned())]))
                .build()
                .unwrap();
            assert!(
                matches!(
                    plan(&resources, false),
                    Err(CgroupError::InvalidUnifiedKey { .. })
                ),
                "{key}"
            );
        }
        let resources = LinuxResourcesBuilder::default()
            .network(
                LinuxNetworkBuilder::default()
                    .class_id(7u32)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert!(plan(&resources, false).is_err());
    }
}
