//! What `docker create` stores: the request's config completed from the image's config (moby's
//! `daemon.merge` + `mergeAndVerifyConfig`), and the command line that config runs.

use std::collections::HashMap;

use bollard_stubs::models::{ContainerConfig, HealthConfig};
use serde_json::Value;

use super::SpecError;

/// The PATH Docker gives a Linux container whose image and request set none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Completes `config` (the create request) from `image_config` (the image config blob's
/// `config` object; null or malformed fields count as unset), as Docker does.
pub fn merge_image_config(config: &mut ContainerConfig, image_config: &Value) {
    let image = ImageConfig(image_config);
    if config.user.as_deref().unwrap_or("").is_empty() {
        config.user = image.string("User");
    }
    config.exposed_ports = union(config.exposed_ports.take(), image.keys("ExposedPorts"));
    config.env = Some(merge_env(config.env.take(), image.strings("Env")));
    let mut labels = image.labels();
    labels.extend(config.labels.take().unwrap_or_default());
    config.labels = Some(labels);
    if config.entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            config.cmd = image.strings("Cmd");
            config.args_escaped = image.0.get("ArgsEscaped").and_then(Value::as_bool);
        }
        if config.entrypoint.is_none() {
            config.entrypoint = image.strings("Entrypoint");
        }
    }
    // `--entrypoint ""` means "no entrypoint", not "the image's".
    if config.entrypoint.as_deref() == Some(&[String::new()]) {
        config.entrypoint = None;
    }
    config.healthcheck = merge_health(config.healthcheck.take(), image.health());
    if config.working_dir.as_deref().unwrap_or("").is_empty() {
        config.working_dir = image.string("WorkingDir");
    }
    config.volumes = union(config.volumes.take(), image.keys("Volumes"));
    if config.stop_signal.as_deref().unwrap_or("").is_empty() {
        config.stop_signal = image.string("StopSignal");
    }
    if config.shell.is_none() {
        config.shell = image.strings("Shell");
    }
    if config.on_build.is_none() {
        config.on_build = image.strings("OnBuild");
    }
}

/// `Entrypoint + Cmd`: the program first, as `docker inspect` shows `Path` and `Args`.
pub fn process_args(config: &ContainerConfig) -> Result<Vec<String>, SpecError> {
    let entrypoint = config.entrypoint.as_deref().unwrap_or_default();
    let cmd = config.cmd.as_deref().unwrap_or_default();
    let args: Vec<String> = entrypoint.iter().chain(cmd).cloned().collect();
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(args)
}

/// The request's variables, then each image variable the request does not set (Docker's
/// order); PATH defaults when neither sets it.
fn merge_env(user: Option<Vec<String>>, image: Option<Vec<String>>) -> Vec<String> {
    let mut env = user.unwrap_or_default();
    let key = |entry: &str| entry.split('=').next().unwrap_or("").to_string();
    for entry in image.unwrap_or_default() {
        let name = key(&entry);
        if !env.iter().any(|e| key(e) == name) {
            env.push(entry);
        }
    }
    if !env.iter().any(|e| key(e) == "PATH") {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    env
}

fn union(user: Option<Vec<String>>, image: Option<Vec<String>>) -> Option<Vec<String>> {
    let mut out = user.unwrap_or_default();
    for item in image.unwrap_or_default() {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out.sort();
    (!out.is_empty()).then_some(out)
}

/// The request's healthcheck with each unset field taken from the image's.
fn merge_health(user: Option<HealthConfig>, image: Option<HealthConfig>) -> Option<HealthConfig> {
    let Some(image) = image else { return user };
    let Some(mut user) = user else {
        return Some(image);
    };
    if user.test.as_ref().is_none_or(Vec::is_empty) {
        user.test = image.test;
    }
    let unset = |v: Option<i64>| v.unwrap_or(0) == 0;
    if unset(user.interval) {
        user.interval = image.interval;
    }
    if unset(user.timeout) {
        user.timeout = image.timeout;
    }
    if unset(user.start_period) {
        user.start_period = image.start_period;
    }
    if unset(user.start_interval) {
        user.start_interval = image.start_interval;
    }
    if unset(user.retries) {
        user.retries = image.retries;
    }
    Some(user)
}

/// Typed reads of the image config JSON; anything of the wrong shape reads as unset.
struct ImageConfig<'a>(&'a Value);

impl ImageConfig<'_> {
    fn string(&self, key: &str) -> Option<String> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.0.get(key)?.as_array()?;
        Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    }

    /// The keys of a `{"80/tcp": {}}`-style set.
    fn keys(&self, key: &str) -> Option<Vec<String>> {
        Some(self.0.get(key)?.as_object()?.keys().cloned().collect())
    }

    fn labels(&self) -> HashMap<String, String> {
        let Some(map) = self.0.get("Labels").and_then(Value::as_object) else {
            return HashMap::new();
        };
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    }

    fn health(&self) -> Option<HealthConfig> {
        let value = self.0.get("Healthcheck")?;
        serde_json::from_value(value.clone()).ok()
    }
}
