//! `run`/`create` flags and their translation into the API's create body, as docker/cli's
//! `opts.parse` does it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_client::models::{
    ContainerCreateBody, DeviceMapping, HostConfig, HostConfigLogConfig, PortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use clap::Args;

#[derive(Debug, thiserror::Error)]
pub enum OptsError {
    #[error("invalid argument {value:?} for \"{flag}\" flag: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("reading {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn invalid(flag: &'static str, value: &str, reason: &'static str) -> OptsError {
    OptsError::Invalid {
        flag,
        value: value.to_owned(),
        reason,
    }
}

#[derive(Args, Debug, Default, Clone)]
pub struct ContainerOptions {
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables.
    #[arg(short = 'e', long)]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set meta data on a container.
    #[arg(short = 'l', long)]
    pub label: Vec<String>,
    /// Memory limit.
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ulimit options.
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long)]
    pub read_only: bool,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    pub init: bool,
    /// Add Linux capabilities.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    pub privileged: bool,
    /// Security Options.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Add a host device to the container.
    #[arg(long)]
    pub device: Vec<String>,
    /// Signal to stop the container.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long)]
    pub stop_timeout: Option<i64>,
    /// Logging driver for the container.
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Log driver options.
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Connect a container to a network.
    #[arg(long, visible_alias = "net")]
    pub network: Option<String>,
    /// Bind mount a volume.
    #[arg(short = 'v', long)]
    pub volume: Vec<String>,
    /// Mount a tmpfs directory.
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Publish a container's port(s) to the host.
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// Expose a port or a range of ports.
    #[arg(long)]
    pub expose: Vec<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Set the platform if the server is multi-platform capable.
    #[arg(long)]
    pub platform: Option<String>,
    #[command(flatten)]
    pub health: super::health_opts::HealthOptions,
}

impl ContainerOptions {
    /// The create body for `image` and `command`; `attach` sets the Attach* fields as
    /// `docker run` does in the foreground.
    pub fn to_create_body(
        &self,
        image: &str,
        command: &[String],
        attach: bool,
        auto_remove: bool,
    ) -> Result<ContainerCreateBody, OptsError> {
        let mut env = Vec::new();
        for file in &self.env_file {
            env.extend(read_env_file(file)?);
        }
        env.extend(self.env.iter().filter_map(|e| expand_env(e)));

        let mut exposed: Vec<String> = Vec::new();
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for spec in &self.publish {
            let (port, binding) = parse_publish(spec)?;
            if !exposed.contains(&port) {
                exposed.push(port.clone());
            }
            port_bindings
                .entry(port)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(binding);
        }
        for spec in &self.expose {
            let port = with_proto(spec);
            if !exposed.contains(&port) {
                exposed.push(port);
            }
        }

        let mut binds = Vec::new();
        let mut anonymous_volumes = Vec::new();
        for spec in &self.volume {
            if spec.contains(':') {
                binds.push(spec.clone());
            } else {
                anonymous_volumes.push(spec.clone());
            }
        }

        let labels: HashMap<String, String> = self
            .label
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (l.clone(), String::new()),
            })
            .collect();

        let memory = self
            .memory
            .as_deref()
            .map(|m| parse_bytes("memory", m))
            .transpose()?;
        let memory_swap = self
            .memory_swap
            .as_deref()
            .map(parse_memory_swap)
            .transpose()?;
        let nano_cpus = self.cpus.as_deref().map(parse_cpus).transpose()?;

        let host_config = HostConfig {
            binds: non_empty(binds),
            auto_remove: Some(auto_remove),
            network_mode: self.network.clone(),
            port_bindings: if port_bindings.is_empty() {
                None
            } else {
                Some(port_bindings)
            },
            privileged: Some(self.privileged),
            readonly_rootfs: Some(self.read_only),
            init: self.init.then_some(true),
            cap_add: non_empty(self.cap_add.clone()),
            cap_drop: non_empty(self.cap_drop.clone()),
            security_opt: non_empty(security_opts(&self.security_opt)?),
            memory,
            memory_swap,
            nano_cpus,
            cpu_shares: self.cpu_shares,
            cpuset_cpus: self.cpuset_cpus.clone(),
            pids_limit: self.pids_limit,
            ulimits: non_empty(
                self.ulimit
                    .iter()
                    .map(|u| parse_ulimit(u))
                    .collect::<Result<_, _>>()?,
            ),
            devices: non_empty(
                self.device
                    .iter()
                    .map(|d| parse_device(d))
                    .collect::<Result<_, _>>()?,
            ),
            tmpfs: if self.tmpfs.is_empty() {
                None
            } else {
                Some(
                    self.tmpfs
                        .iter()
                        .map(|t| match t.split_once(':') {
                            Some((path, opts)) => (path.to_owned(), opts.to_owned()),
                            None => (t.clone(), String::new()),
                        })
                        .collect(),
                )
            },
            log_config: if self.log_driver.is_none() && self.log_opt.is_empty() {
                None
            } else {
                Some(HostConfigLogConfig {
                    typ: self.log_driver.clone(),
                    config: Some(
                        self.log_opt
                            .iter()
                            .map(|o| match o.split_once('=') {
                                Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
                                None => Err(invalid("log-opt", o, "expected key=value")),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                })
            },
            restart_policy: self.restart.as_deref().map(parse_restart).transpose()?,
            ..Default::default()
        };

        let stdin = self.interactive && attach;
        Ok(ContainerCreateBody {
            hostname: self.hostname.clone(),
            user: self.user.clone(),
            attach_stdin: Some(stdin),
            attach_stdout: Some(attach),
            attach_stderr: Some(attach),
            exposed_ports: non_empty(exposed),
            tty: Some(self.tty),
            open_stdin: Some(self.interactive),
            stdin_once: Some(stdin),
            env: Some(env),
            cmd: if command.is_empty() {
                None
            } else {
                Some(command.to_vec())
            },
            image: Some(image.to_owned()),
            volumes: non_empty(anonymous_volumes),
            working_dir: self.workdir.clone(),
            entrypoint: self.entrypoint.as_ref().map(|e| vec![e.clone()]),
            labels: Some(labels),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            healthcheck: self.health.to_config()?,
            host_config: Some(host_config),
            ..Default::default()
        })
    }
}

/// As docker's CLI: `seccomp=FILE` is read here and sent as the profile's JSON (the daemon
/// never reads a path an API client names); `seccomp=unconfined` and other options pass as is.
fn security_opts(opts: &[String]) -> Result<Vec<String>, OptsError> {
    opts.iter()
        .map(|opt| {
            let Some(value) = opt
                .strip_prefix("seccomp=")
                .or_else(|| opt.strip_prefix("seccomp:"))
            else {
                return Ok(opt.clone());
            };
            if value == "unconfined" || value == "builtin" || value.trim_start().starts_with('{') {
                return Ok(format!("seccomp={value}"));
            }
            let json = std::fs::read_to_string(value).map_err(|source| OptsError::ReadFile {
                path: PathBuf::from(value),
                source,
            })?;
            // Compact it, as docker does, and fail early on a file that is not JSON.
            let parsed: serde_json::Value = serde_json::from_str(&json)
                .map_err(|_| invalid("security-opt", opt, "the seccomp profile is not JSON"))?;
            Ok(format!("seccomp={parsed}"))
        })
        .collect()
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() { None } else { Some(v) }
}

/// `-e KEY=VAL` as given; `-e KEY` takes KEY from our environment (dropped when unset).
pub fn expand_env(spec: &str) -> Option<String> {
    if spec.contains('=') {
        return Some(spec.to_owned());
    }
    std::env::var(spec).ok().map(|v| format!("{spec}={v}"))
}

/// An env file: one KEY=VAL (or KEY) per line; blank lines and `#` comments skipped.
pub fn read_env_file(path: &Path) -> Result<Vec<String>, OptsError> {
    let text = std::fs::read_to_string(path).map_err(|source| OptsError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand_env)
        .collect())
}

/// `--memory-swap`: bytes, or -1 for unlimited swap.
pub fn parse_memory_swap(value: &str) -> Result<i64, OptsError> {
    match value {
        "-1" => Ok(-1),
        bytes => parse_bytes("memory-swap", bytes),
    }
}

/// `--cpus`: a decimal number of CPUs, as the API's NanoCpus.
pub fn parse_cpus(value: &str) -> Result<i64, OptsError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| (v * 1e9).round() as i64)
        .ok_or_else(|| invalid("cpus", value, "not a number of CPUs"))
}

/// go-units `RAMInBytes`: a number with an optional b/k/m/g/t/p suffix (binary multiples).
pub fn parse_bytes(flag: &'static str, value: &str) -> Result<i64, OptsError> {
    let lower = value.trim().to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, multiplier) = match trimmed.chars().last() {
        Some('k') => (&trimmed[..trimmed.len() - 1], 1i64 << 10),
        Some('m') => (&trimmed[..trimmed.len() - 1], 1 << 20),
        Some('g') => (&trimmed[..trimmed.len() - 1], 1 << 30),
        Some('t') => (&trimmed[..trimmed.len() - 1], 1 << 40),
        Some('p') => (&trimmed[..trimmed.len() - 1], 1 << 50),
        _ => (trimmed, 1),
    };
    let number: f64 = digits
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| invalid(flag, value, "invalid size"))?;
    Ok((number * multiplier as f64) as i64)
}

fn with_proto(port: &str) -> String {
    if port.contains('/') {
        port.to_owned()
    } else {
        format!("{port}/tcp")
    }
}

/// `[ip:][hostPort:]containerPort[/proto]` → ("80/tcp", binding).
pub fn parse_publish(spec: &str) -> Result<(String, PortBinding), OptsError> {
    let (addr, proto) = match spec.rsplit_once('/') {
        Some((a, p)) => (a, p),
        None => (spec, "tcp"),
    };
    let parts: Vec<&str> = addr.rsplitn(3, ':').collect();
    let (container, host_port, host_ip) = match parts.as_slice() {
        [c] => (*c, "", ""),
        [c, h] => (*c, *h, ""),
        [c, h, ip] => (*c, *h, ip.trim_matches(['[', ']'])),
        _ => return Err(invalid("publish", spec, "bad port specification")),
    };
    let is_port = |p: &str| !p.is_empty() && p.split('-').all(|n| n.parse::<u16>().is_ok());
    if !is_port(container) || !(host_port.is_empty() || is_port(host_port)) {
        return Err(invalid("publish", spec, "bad port specification"));
    }
    Ok((
        format!("{container}/{proto}"),
        PortBinding {
            host_ip: Some(host_ip.to_owned()),
            host_port: Some(host_port.to_owned()),
        },
    ))
}

/// `name=soft[:hard]`.
pub fn parse_ulimit(spec: &str) -> Result<ResourcesUlimits, OptsError> {
    let (name, limits) = spec
        .split_once('=')
        .ok_or_else(|| invalid("ulimit", spec, "expected name=soft[:hard]"))?;
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    let num = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| invalid("ulimit", spec, "limits must be integers"))
    };
    Ok(ResourcesUlimits {
        name: Some(name.to_owned()),
        soft: Some(num(soft)?),
        hard: Some(num(hard)?),
    })
}

/// `host[:container[:perms]]`.
pub fn parse_device(spec: &str) -> Result<DeviceMapping, OptsError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (host, container, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if p.chars().all(|c| "rwm".contains(c)) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(invalid("device", spec, "expected host[:container[:perms]]")),
    };
    Ok(DeviceMapping {
        path_on_host: Some(host.to_owned()),
        path_in_container: Some(container.to_owned()),
        cgroup_permissions: Some(perms.to_owned()),
    })
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub fn parse_restart(spec: &str) -> Result<RestartPolicy, OptsError> {
    let (name, count) = spec.split_once(':').unwrap_or((spec, ""));
    let name = match name {
        "no" | "" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => return Err(invalid("restart", spec, "unknown restart policy")),
    };
    let maximum_retry_count = if count.is_empty() {
        None
    } else {
        Some(
            count
                .parse()
                .map_err(|_| invalid("restart", spec, "bad retry count"))?,
        )
    };
    Ok(RestartPolicy {
        name: Some(name),
        maximum_retry_count,
    })
}

#[cfg(test)]
mod tests;
