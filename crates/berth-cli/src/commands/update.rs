//! `berth update`: new resource limits and restart policy for containers; prints each name
//! as docker does.

use berth_client::models::{ContainerUpdateBody, ContainerUpdateResponse};
use berth_client::{Body, Query};
use clap::Args;

use super::lifecycle::for_each;
use super::opts::{OptsError, parse_bytes, parse_cpus, parse_memory_swap, parse_restart};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Memory limit.
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) period.
    #[arg(long)]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable.
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

impl UpdateArgs {
    fn body(&self) -> Result<ContainerUpdateBody, OptsError> {
        let bytes =
            |flag, v: &Option<String>| v.as_deref().map(|v| parse_bytes(flag, v)).transpose();
        let memory_swap = self
            .memory_swap
            .as_deref()
            .map(parse_memory_swap)
            .transpose()?;
        let nano_cpus = self.cpus.as_deref().map(parse_cpus).transpose()?;
        Ok(ContainerUpdateBody {
            memory: bytes("memory", &self.memory)?,
            memory_swap,
            memory_reservation: bytes("memory-reservation", &self.memory_reservation)?,
            nano_cpus,
            cpu_shares: self.cpu_shares,
            cpu_period: self.cpu_period,
            cpu_quota: self.cpu_quota,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
            restart_policy: self.restart.as_deref().map(parse_restart).transpose()?,
            ..Default::default()
        })
    }
}

pub fn update(ctx: &Ctx, args: UpdateArgs) -> anyhow::Result<i32> {
    let body = args.body()?;
    let client = ctx.client()?;
    for_each(&args.containers, |name| {
        let path = format!("/containers/{name}/update");
        let response: ContainerUpdateResponse = client
            .call("POST", &path, &Query::new(), Body::json(&body)?)?
            .json()?;
        for warning in response.warnings.unwrap_or_default() {
            eprintln!("{warning}");
        }
        Ok(Some(name.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: UpdateArgs,
    }

    #[test]
    fn turns_flags_into_the_update_body() {
        let cli = Cli::parse_from([
            "update",
            "--restart",
            "on-failure:2",
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--cpus",
            "0.5",
            "--pids-limit",
            "-1",
            "c1",
            "c2",
        ]);
        let body = cli.args.body().unwrap();
        assert_eq!(body.memory, Some(64 << 20));
        assert_eq!(body.memory_swap, Some(-1));
        assert_eq!(body.nano_cpus, Some(500_000_000));
        assert_eq!(body.pids_limit, Some(-1));
        assert_eq!(body.restart_policy.unwrap().maximum_retry_count, Some(2));
        assert_eq!(cli.args.containers, ["c1", "c2"]);
    }
}
