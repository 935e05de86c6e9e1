//! PLACEHOLDER until `berth_engine::spec` (the spec branch) is merged: the same interface
//! (`build`, `merge_image_config`, `process_args`) with a minimal body — runc's default spec,
//! the process from the config, Docker's /etc files bind-mounted. Deleted on merge.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard_stubs::models::{ContainerConfig, HostConfig};
use oci_spec::runtime::Spec;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("No command specified")]
    NoCommand,
    #[error("the generated spec is invalid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct EtcFiles {
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
}

#[derive(Debug)]
pub struct SpecInput<'a> {
    #[allow(dead_code)] // the placeholder does not need it; the real build does
    pub id: &'a str,
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    pub rootfs: &'a Path,
    pub etc: EtcFiles,
    pub cgroups_path: String,
}

const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

pub fn process_args(config: &ContainerConfig) -> Result<Vec<String>, SpecError> {
    let args: Vec<String> = config
        .entrypoint
        .iter()
        .flatten()
        .chain(config.cmd.iter().flatten())
        .cloned()
        .collect();
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(args)
}

pub fn merge_image_config(config: &mut ContainerConfig, image_config_json: &Value) {
    let image = &image_config_json["config"];
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
    };
    let mut env: Vec<String> = strings(&image["Env"]).unwrap_or_default();
    for var in config.env.iter().flatten() {
        let key = var.split('=').next().unwrap_or(var);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(var.clone());
    }
    config.env = Some(env);
    if config.entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            config.cmd = strings(&image["Cmd"]);
        }
        if config.entrypoint.is_none() {
            config.entrypoint = strings(&image["Entrypoint"]);
        }
    }
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    if config.working_dir.as_deref().unwrap_or("").is_empty() {
        config.working_dir = text(&image["WorkingDir"]);
    }
    if config.user.as_deref().unwrap_or("").is_empty() {
        config.user = text(&image["User"]);
    }
    if config.stop_signal.is_none() {
        config.stop_signal = text(&image["StopSignal"]);
    }
    if let Some(labels) = image["Labels"].as_object() {
        let mut merged: HashMap<String, String> = labels
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        merged.extend(config.labels.take().unwrap_or_default());
        config.labels = Some(merged);
    }
}

pub fn build(input: &SpecInput) -> Result<Spec, SpecError> {
    let config = input.config;
    let mut spec = berth_runtime::spec::default_spec();
    let caps = json!(DOCKER_CAPS);
    let (uid, gid) = numeric_user(config.user.as_deref().unwrap_or(""));
    let mut env = config.env.clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    spec["process"] = json!({
        "terminal": config.tty.unwrap_or(false),
        "user": {"uid": uid, "gid": gid},
        "args": process_args(config)?,
        "env": env,
        "cwd": config.working_dir.clone().filter(|w| !w.is_empty()).unwrap_or_else(|| "/".into()),
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": false,
    });
    spec["root"] = json!({"path": input.rootfs, "readonly": false});
    spec["hostname"] = json!(config.hostname.clone().unwrap_or_default());
    spec["linux"]["cgroupsPath"] = json!(input.cgroups_path);
    if input.host.network_mode.as_deref() == Some("host")
        && let Some(namespaces) = spec["linux"]["namespaces"].as_array_mut()
    {
        namespaces.retain(|ns| ns["type"] != "network" && ns["type"] != "uts");
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        for (dest, source) in [
            ("/etc/hosts", &input.etc.hosts),
            ("/etc/hostname", &input.etc.hostname),
            ("/etc/resolv.conf", &input.etc.resolv_conf),
        ] {
            mounts.push(
                json!({"destination": dest, "type": "bind", "source": source,
                "options": ["rbind", "rprivate"]}),
            );
        }
    }
    serde_json::from_value(spec).map_err(|e| SpecError::Invalid(e.to_string()))
}

fn numeric_user(user: &str) -> (u32, u32) {
    let (u, g) = user.split_once(':').unwrap_or((user, ""));
    let uid = u.parse().unwrap_or(0);
    (uid, g.parse().unwrap_or(0))
}
