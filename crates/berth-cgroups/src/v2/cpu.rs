//! v2 cpu and cpuset: resource → (file, value) writes.

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;

/// runc's mapping of v1 shares [2, 262144] onto v2 weight [1, 10000]; 0 stays "unset".
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// `cpu.max` is "$QUOTA $PERIOD"; a non-positive quota is "max", an unset period keeps the
/// kernel's current one.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = quota.filter(|&q| q != 0);
    let period = period.filter(|&p| p != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut value = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_owned(),
    };
    if let Some(period) = period {
        value.push(' ');
        value.push_str(&period.to_string());
    }
    Some(value)
}

pub(super) fn plan(cpu: &LinuxCpu, writes: &mut Vec<(String, String)>) -> Result<(), CgroupError> {
    if cpu.realtime_runtime().is_some_and(|v| v != 0)
        || cpu.realtime_period().is_some_and(|v| v != 0)
    {
        return Err(CgroupError::InvalidResource {
            field: "linux.resources.cpu.realtimeRuntime/realtimePeriod",
            value: format!("{:?}/{:?}", cpu.realtime_runtime(), cpu.realtime_period()),
            reason: "cgroup v2 has no realtime CPU budget",
        });
    }
    if let Some(shares) = cpu.shares().filter(|&s| s != 0) {
        writes.push(("cpu.weight".into(), shares_to_weight(shares).to_string()));
    }
    if let Some(max) = cpu_max(cpu.quota(), cpu.period()) {
        writes.push(("cpu.max".into(), max));
    }
    if let Some(burst) = cpu.burst() {
        writes.push(("cpu.max.burst".into(), burst.to_string()));
    }
    if let Some(idle) = cpu.idle().filter(|&i| i != 0) {
        writes.push(("cpu.idle".into(), idle.to_string()));
    }
    if let Some(cpus) = cpu.cpus().as_deref().filter(|v| !v.is_empty()) {
        writes.push(("cpuset.cpus".into(), cpus.to_owned()));
    }
    if let Some(mems) = cpu.mems().as_deref().filter(|v| !v.is_empty()) {
        writes.push(("cpuset.mems".into(), mems.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_conversion_matches_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn cpu_max_formatting() {
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max(Some(-1), Some(100_000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(cpu_max(Some(20_000), None).as_deref(), Some("20000"));
        assert_eq!(cpu_max(None, Some(10_000)).as_deref(), Some("max 10000"));
    }
}
