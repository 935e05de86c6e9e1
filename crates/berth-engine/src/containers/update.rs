//! `POST /containers/{id}/update`: a new restart policy and resource limits, as moby's
//! `UpdateContainer`: the record takes every non-zero field; a running (or paused) container
//! gets the request's resources in its cgroup at once (a stopped one at its next start). A
//! cgroup that refuses leaves the record as it was.

use bollard_stubs::models::{ContainerUpdateBody, HostConfig, RestartPolicyNameEnum};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::record::Status;
use super::{LookupError, RecordError};
use crate::Engine;
use crate::error::{ErrorKind, HasKind};
use crate::events::Event;

/// The CFS period Docker uses for `--cpus` (100 ms in µs).
const NANO_CPUS_PERIOD: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// Two settings that cannot both hold (Docker's wording).
    #[error("Cannot update container {id}: Conflicting options: {reason}")]
    Conflict { id: String, reason: &'static str },
    #[error("Cannot update container {id}: invalid {field} {value}: {reason}")]
    Invalid {
        id: String,
        field: &'static str,
        value: i64,
        reason: &'static str,
    },
    #[error("Restart policy cannot be updated because AutoRemove is enabled for the container")]
    AutoRemove,
    #[error("Container {id} is marked for removal and cannot be \"update\"")]
    Removing { id: String },
    #[error("Cannot update container {id}: {source}")]
    RuntimeId {
        id: String,
        source: berth_runtime::container::InvalidId,
    },
    /// The cgroup refused (v1 blkio weight does on kernels without CFQ/BFQ weights).
    #[error("Cannot update container {id}: applying {fields} to its cgroup: {source}")]
    Cgroup {
        id: String,
        fields: String,
        source: berth_runtime::container::UpdateError,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl HasKind for UpdateError {
    fn kind(&self) -> ErrorKind {
        match self {
            UpdateError::Lookup(e) => e.kind(),
            UpdateError::Conflict { .. }
            | UpdateError::Invalid { .. }
            | UpdateError::AutoRemove => ErrorKind::InvalidArgument,
            UpdateError::Removing { .. } => ErrorKind::Conflict,
            _ => ErrorKind::System,
        }
    }
}

fn set(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v != 0)
}

/// The record's swap as it applies: Docker stores twice the memory when `-m` came alone.
fn effective_swap(host: &HostConfig) -> i64 {
    match (host.memory_swap.unwrap_or(0), host.memory.unwrap_or(0)) {
        (0, memory) if memory > 0 => memory.saturating_mul(2),
        (swap, _) => swap,
    }
}

/// Merges the request's non-zero fields into `host` (moby's checks first).
fn merge(id: &str, host: &mut HostConfig, u: &ContainerUpdateBody) -> Result<(), UpdateError> {
    let conflict = |reason| UpdateError::Conflict {
        id: id.to_string(),
        reason,
    };
    let has = |v: Option<i64>| v.unwrap_or(0) > 0;
    if has(u.nano_cpus) && has(host.cpu_period) {
        return Err(conflict(
            "Nano CPUs cannot be updated as CPU Period has already been set",
        ));
    }
    if has(u.nano_cpus) && has(host.cpu_quota) {
        return Err(conflict(
            "Nano CPUs cannot be updated as CPU Quota has already been set",
        ));
    }
    if (has(u.cpu_period) || has(u.cpu_quota)) && has(host.nano_cpus) {
        return Err(conflict(
            "CPU Period/Quota cannot be updated as NanoCPUs has already been set",
        ));
    }
    if let Some(weight) = u.blkio_weight.filter(|w| *w != 0) {
        if !(10..=1000).contains(&weight) {
            return Err(UpdateError::Invalid {
                id: id.to_string(),
                field: "BlkioWeight",
                value: i64::from(weight),
                reason: "must be between 10 and 1000",
            });
        }
        host.blkio_weight = Some(weight);
    }
    if let Some(memory) = set(u.memory) {
        let swap = effective_swap(host);
        if swap > 0 && memory > swap && set(u.memory_swap).is_none() {
            return Err(conflict(
                "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
            ));
        }
        // Keep the swap the cgroup has (twice the old memory) instead of a new default.
        host.memory_swap = Some(swap);
        host.memory = Some(memory);
    }
    for (field, value) in [
        (&mut host.cpu_shares, u.cpu_shares),
        (&mut host.nano_cpus, u.nano_cpus),
        (&mut host.cpu_period, u.cpu_period),
        (&mut host.cpu_quota, u.cpu_quota),
        (&mut host.memory_swap, u.memory_swap),
        (&mut host.memory_reservation, u.memory_reservation),
        (&mut host.cpu_realtime_period, u.cpu_realtime_period),
        (&mut host.cpu_realtime_runtime, u.cpu_realtime_runtime),
    ] {
        if let Some(v) = set(value) {
            *field = Some(v);
        }
    }
    if let Some(cpus) = u.cpuset_cpus.clone().filter(|s| !s.is_empty()) {
        host.cpuset_cpus = Some(cpus);
    }
    if let Some(mems) = u.cpuset_mems.clone().filter(|s| !s.is_empty()) {
        host.cpuset_mems = Some(mems);
    }
    if u.pids_limit.is_some() {
        host.pids_limit = u.pids_limit;
    }
    if let Some(policy) = u.restart_policy.as_ref().filter(|p| {
        p.name
            .is_some_and(|n| !matches!(n, RestartPolicyNameEnum::EMPTY))
    }) {
        if host.auto_remove.unwrap_or(false) && policy.name != Some(RestartPolicyNameEnum::NO) {
            return Err(UpdateError::AutoRemove);
        }
        if policy.maximum_retry_count.unwrap_or(0) < 0 {
            return Err(UpdateError::Invalid {
                id: id.to_string(),
                field: "MaximumRetryCount",
                value: policy.maximum_retry_count.unwrap_or(0),
                reason: "must not be negative",
            });
        }
        host.restart_policy = Some(policy.clone());
    }
    Ok(())
}

/// The request's resources for the cgroup (only what it sets), with the names of the fields
/// for error messages.
fn resources(u: &ContainerUpdateBody) -> (LinuxResources, Vec<&'static str>) {
    let mut fields = Vec::new();
    let mut res = LinuxResources::default();
    let (limit, swap, reservation) = (set(u.memory), set(u.memory_swap), set(u.memory_reservation));
    if limit.is_some() || swap.is_some() || reservation.is_some() {
        fields.push("Memory");
        let mut memory = LinuxMemory::default();
        memory.set_limit(limit);
        memory.set_swap(swap);
        memory.set_reservation(reservation);
        res.set_memory(Some(memory));
    }
    let mut cpu = LinuxCpu::default();
    let mut cpu_set = false;
    if let Some(nano) = set(u.nano_cpus).filter(|n| *n > 0) {
        cpu.set_period(Some(NANO_CPUS_PERIOD));
        cpu.set_quota(Some(
            nano.saturating_mul(NANO_CPUS_PERIOD as i64) / 1_000_000_000,
        ));
        cpu_set = true;
    }
    if let Some(period) = set(u.cpu_period).filter(|p| *p > 0) {
        cpu.set_period(Some(period as u64));
        cpu_set = true;
    }
    if let Some(quota) = set(u.cpu_quota) {
        cpu.set_quota(Some(quota));
        cpu_set = true;
    }
    if let Some(shares) = set(u.cpu_shares).filter(|s| *s > 0) {
        cpu.set_shares(Some(shares as u64));
        cpu_set = true;
    }
    if let Some(cpus) = u.cpuset_cpus.clone().filter(|s| !s.is_empty()) {
        cpu.set_cpus(Some(cpus));
        cpu_set = true;
    }
    if let Some(mems) = u.cpuset_mems.clone().filter(|s| !s.is_empty()) {
        cpu.set_mems(Some(mems));
        cpu_set = true;
    }
    if cpu_set {
        fields.push("CPU");
        res.set_cpu(Some(cpu));
    }
    if let Some(limit) = u.pids_limit {
        fields.push("PidsLimit");
        let mut pids = LinuxPids::default();
        pids.set_limit(if limit > 0 { limit } else { -1 });
        res.set_pids(Some(pids));
    }
    if let Some(weight) = u.blkio_weight.filter(|w| *w != 0) {
        fields.push("BlkioWeight");
        let mut blkio = LinuxBlockIo::default();
        blkio.set_weight(Some(weight));
        res.set_block_io(Some(blkio));
    }
    (res, fields)
}

impl Engine {
    /// `POST /containers/{id}/update`; Docker's warnings (none).
    pub fn update_container(
        &self,
        name: &str,
        update: &ContainerUpdateBody,
    ) -> Result<Vec<String>, UpdateError> {
        let container = self.containers.get(name)?;
        let id = container.id.clone();
        if container.is_removing() {
            return Err(UpdateError::Removing { id });
        }
        let mut record = container.lock();
        let mut host = record.host_config.clone();
        merge(&id, &mut host, update)?;
        let (resources, fields) = resources(update);
        if matches!(record.state.status, Status::Running | Status::Paused) && !fields.is_empty() {
            let cid = berth_runtime::container::ContainerId::parse(&id).map_err(|source| {
                UpdateError::RuntimeId {
                    id: id.clone(),
                    source,
                }
            })?;
            berth_runtime::container::update(&self.paths.runtime_root(), &cid, &resources)
                .map_err(|source| UpdateError::Cgroup {
                    id: id.clone(),
                    fields: fields.join(", "),
                    source,
                })?;
        }
        record.host_config = host;
        record.save(&container.dir)?;
        let attrs = super::event_attrs(&record);
        drop(record);
        self.events
            .publish(Event::new("container", "update", &id, attrs));
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_stubs::models::RestartPolicy;

    #[test]
    fn merges_non_zero_fields_and_refuses_conflicts() {
        let mut host = HostConfig {
            memory: Some(100 << 20),
            ..Default::default()
        };
        let update = ContainerUpdateBody {
            memory: Some(150 << 20),
            cpu_shares: Some(512),
            pids_limit: Some(50),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ON_FAILURE),
                maximum_retry_count: Some(2),
            }),
            ..Default::default()
        };
        merge("c", &mut host, &update).unwrap();
        assert_eq!(host.memory, Some(150 << 20));
        assert_eq!(host.memory_swap, Some(200 << 20));
        assert_eq!((host.cpu_shares, host.pids_limit), (Some(512), Some(50)));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ON_FAILURE)
        );
        let mut host = HostConfig {
            memory: Some(100 << 20),
            ..Default::default()
        };
        let too_big = ContainerUpdateBody {
            memory: Some(300 << 20),
            ..Default::default()
        };
        assert!(matches!(
            merge("c", &mut host, &too_big),
            Err(UpdateError::Conflict { .. })
        ));
        let mut rm = HostConfig {
            auto_remove: Some(true),
            ..Default::default()
        };
        let always = ContainerUpdateBody {
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        assert!(matches!(
            merge("c", &mut rm, &always),
            Err(UpdateError::AutoRemove)
        ));
        let bad_weight = ContainerUpdateBody {
            blkio_weight: Some(5),
            ..Default::default()
        };
        assert!(merge("c", &mut HostConfig::default(), &bad_weight).is_err());
    }

    #[test]
    fn builds_only_the_requested_resources() {
        let (res, fields) = resources(&ContainerUpdateBody {
            nano_cpus: Some(1_500_000_000),
            pids_limit: Some(0),
            ..Default::default()
        });
        assert_eq!(fields, ["CPU", "PidsLimit"]);
        let cpu = res.cpu().clone().unwrap();
        assert_eq!((cpu.period(), cpu.quota()), (Some(100_000), Some(150_000)));
        assert_eq!(res.pids().unwrap().limit(), -1);
        assert!(res.memory().is_none());
        let (_, none) = resources(&ContainerUpdateBody::default());
        assert!(none.is_empty());
    }
}
