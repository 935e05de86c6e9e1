//! `process`: the command, environment (moby's `CreateDaemonEnvironment`), working directory,
//! terminal, user, capabilities, rlimits (`Ulimits`), no_new_privileges, oom_score_adj.

use bollard_stubs::models::{ContainerConfig, HostConfig, ResourcesUlimits};
use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process};

use super::merge::DEFAULT_PATH;
use super::security::SecurityOpts;
use super::user::ResolvedUser;
use super::{SpecError, caps, process_args};

pub struct ProcessInput<'a> {
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    pub hostname: &'a str,
    pub user: &'a ResolvedUser,
    pub caps: &'a [String],
    pub security: &'a SecurityOpts,
}

pub fn build(input: &ProcessInput<'_>) -> Result<Process, SpecError> {
    let config = input.config;
    let tty = config.tty.unwrap_or(false);
    let mut env = daemon_env(
        input.hostname,
        tty,
        config.env.as_deref().unwrap_or_default(),
    );
    // runc fills HOME from the container's passwd when the environment has none.
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", input.user.home));
    }
    let mut process = Process::default();
    process.set_terminal(Some(tty));
    process.set_args(Some(process_args(config)?));
    process.set_env(Some(env));
    let cwd = match config.working_dir.as_deref() {
        None | Some("") => "/",
        Some(dir) if dir.starts_with('/') => dir,
        Some(dir) => {
            return Err(SpecError::RelativeWorkingDir {
                dir: dir.to_string(),
            });
        }
    };
    process.set_cwd(cwd.into());
    process.set_user(input.user.oci_user());
    process.set_capabilities(Some(caps::to_oci(input.caps, input.user.uid == 0)?));
    process.set_rlimits(rlimits(input.host.ulimits.as_deref().unwrap_or_default())?);
    process.set_no_new_privileges(Some(input.security.no_new_privileges));
    process.set_apparmor_profile(input.security.apparmor.clone());
    process.set_oom_score_adj(oom_score_adj(input.host.oom_score_adj)?);
    Ok(process)
}

/// PATH, HOSTNAME and (with a TTY) TERM, each replaced by the config's own value if it sets
/// one; the config's other variables follow; a bare `NAME` removes that variable.
pub fn daemon_env(hostname: &str, tty: bool, config_env: &[String]) -> Vec<String> {
    let mut env: Vec<Option<String>> = vec![
        Some(format!("PATH={DEFAULT_PATH}")),
        Some(format!("HOSTNAME={hostname}")),
    ];
    if tty {
        env.push(Some("TERM=xterm".to_string()));
    }
    let defaults = env.len();
    let key_of = |e: &str| e.split('=').next().unwrap_or("").to_string();
    for value in config_env {
        let key = key_of(value);
        let existing = env[..defaults]
            .iter()
            .position(|e| e.as_deref().is_some_and(|e| key_of(e) == key));
        match (value.contains('='), existing) {
            (true, Some(i)) => env[i] = Some(value.clone()),
            (true, None) => env.push(Some(value.clone())),
            (false, Some(i)) => env[i] = None,
            (false, None) => {}
        }
    }
    env.into_iter().flatten().collect()
}

fn rlimits(ulimits: &[ResourcesUlimits]) -> Result<Option<Vec<PosixRlimit>>, SpecError> {
    if ulimits.is_empty() {
        return Ok(None);
    }
    ulimits
        .iter()
        .map(rlimit)
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn rlimit(ulimit: &ResourcesUlimits) -> Result<PosixRlimit, SpecError> {
    let name = ulimit.name.clone().unwrap_or_default();
    let invalid = |reason| SpecError::InvalidUlimit {
        name: name.clone(),
        reason,
    };
    let typ = match name.as_str() {
        "core" => PosixRlimitType::RlimitCore,
        "cpu" => PosixRlimitType::RlimitCpu,
        "data" => PosixRlimitType::RlimitData,
        "fsize" => PosixRlimitType::RlimitFsize,
        "locks" => PosixRlimitType::RlimitLocks,
        "memlock" => PosixRlimitType::RlimitMemlock,
        "msgqueue" => PosixRlimitType::RlimitMsgqueue,
        "nice" => PosixRlimitType::RlimitNice,
        "nofile" => PosixRlimitType::RlimitNofile,
        "nproc" => PosixRlimitType::RlimitNproc,
        "rss" => PosixRlimitType::RlimitRss,
        "rtprio" => PosixRlimitType::RlimitRtprio,
        "rttime" => PosixRlimitType::RlimitRttime,
        "sigpending" => PosixRlimitType::RlimitSigpending,
        "stack" => PosixRlimitType::RlimitStack,
        "as" => PosixRlimitType::RlimitAs,
        _ => return Err(invalid("unknown ulimit type")),
    };
    let value = |v: Option<i64>| match v.unwrap_or(0) {
        -1 => Ok(u64::MAX),
        v if v < 0 => Err(invalid("values must be -1 (unlimited) or positive")),
        v => Ok(v as u64),
    };
    let soft = value(ulimit.soft)?;
    let hard = value(ulimit.hard)?;
    if soft > hard {
        return Err(invalid("the soft limit is greater than the hard limit"));
    }
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .map_err(|source| SpecError::Build {
            what: "rlimit",
            source,
        })
}

/// Only a non-zero adjustment is written: 0 is every process's default, and writing it would
/// need CAP_SYS_RESOURCE when the daemon itself runs with a positive score.
fn oom_score_adj(value: Option<i64>) -> Result<Option<i32>, SpecError> {
    match value.unwrap_or(0) {
        0 => Ok(None),
        v @ -1000..=1000 => Ok(Some(v as i32)),
        v => Err(SpecError::InvalidResource {
            field: "OomScoreAdj",
            value: v,
            reason: "must be between -1000 and 1000",
        }),
    }
}
