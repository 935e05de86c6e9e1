//! The image config a stage builds up: metadata instructions change its `config` section the
//! way Docker/BuildKit do, and every step appends a history entry.

use serde_json::{Map, Value, json};

use super::go_format::{
    go_plain_list, go_port_set, go_quoted_duration, go_quoted_list, go_quoted_rune,
};
use crate::instructions::{CommandLine, Healthcheck, KeyValue, parse_port_spec};

/// BuildKit's default when neither the base image nor the Dockerfile sets PATH.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

/// The image config JSON being built plus the stage-local facts Docker tracks beside it.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    pub doc: Value,
    /// CMD set in this stage (so a later ENTRYPOINT keeps it).
    pub cmd_set: bool,
}

impl ImageConfig {
    /// From a base image's config (or an empty one for `scratch`), with PATH defaulted.
    pub fn from_base(base: Option<Value>, created: &str) -> ImageConfig {
        let mut doc = base.unwrap_or_else(|| {
            json!({
                "architecture": berth_oci::Platform::host().architecture,
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": [],
            })
        });
        if !doc.is_object() {
            doc = json!({});
        }
        doc["created"] = json!(created);
        let mut config = ImageConfig {
            doc,
            cmd_set: false,
        };
        if !config.env().iter().any(|e| e.starts_with("PATH=")) {
            config.set_env("PATH", DEFAULT_PATH);
        }
        config
    }

    pub fn section(&mut self) -> &mut Map<String, Value> {
        if !self.doc["config"].is_object() {
            self.doc["config"] = json!({});
        }
        match self.doc.get_mut("config").and_then(Value::as_object_mut) {
            Some(map) => map,
            None => unreachable!("config was just made an object"),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.doc.get("config").and_then(|c| c.get(key))
    }

    pub fn env(&self) -> Vec<String> {
        strings(self.get("Env"))
    }

    pub fn working_dir(&self) -> String {
        self.get("WorkingDir")
            .and_then(Value::as_str)
            .filter(|w| !w.is_empty())
            .unwrap_or("/")
            .to_string()
    }

    pub fn user(&self) -> String {
        self.get("User")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }

    /// The SHELL in effect (default `/bin/sh -c`).
    pub fn shell(&self) -> Vec<String> {
        let shell = strings(self.get("Shell"));
        if shell.is_empty() {
            vec!["/bin/sh".into(), "-c".into()]
        } else {
            shell
        }
    }

    /// Shell form wrapped in the stage's SHELL; exec form as written.
    pub fn argv(&self, command: &CommandLine) -> Vec<String> {
        match command {
            CommandLine::Exec(args) => args.clone(),
            CommandLine::Shell(line) => {
                let mut argv = self.shell();
                argv.push(line.clone());
                argv
            }
        }
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        let mut env = self.env();
        let entry = format!("{key}={value}");
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
        {
            Some(existing) => *existing = entry,
            None => env.push(entry),
        }
        self.section().insert("Env".into(), json!(env));
    }

    pub fn env_instruction(&mut self, pairs: &[KeyValue]) -> String {
        let mut text = String::from("ENV");
        for kv in pairs {
            self.set_env(&kv.key, &kv.value);
            text.push_str(&format!(" {}={}", kv.key, kv.value));
        }
        text
    }

    /// WORKDIR: relative paths join the current one; returns the absolute path.
    pub fn workdir(&mut self, dir: &str) -> String {
        let joined = if dir.starts_with('/') {
            dir.to_string()
        } else {
            format!("{}/{dir}", self.working_dir())
        };
        let clean = clean_abs(&joined);
        self.section().insert("WorkingDir".into(), json!(clean));
        clean
    }

    pub fn set_user(&mut self, user: &str) {
        self.section().insert("User".into(), json!(user));
    }

    pub fn cmd(&mut self, command: &CommandLine) -> String {
        let argv = self.argv(command);
        self.cmd_set = true;
        let text = format!("CMD {}", go_quoted_list(&argv));
        self.section().insert("Cmd".into(), json!(argv));
        // BuildKit sets it on every CMD (kept for Docker's image spec), never on ENTRYPOINT.
        self.section().insert("ArgsEscaped".into(), json!(true));
        text
    }

    pub fn entrypoint(&mut self, command: &CommandLine) -> String {
        let argv = self.argv(command);
        if !self.cmd_set {
            // Docker: an ENTRYPOINT resets a CMD inherited from the base image.
            self.section().insert("Cmd".into(), Value::Null);
        }
        let text = format!("ENTRYPOINT {}", go_quoted_list(&argv));
        self.section().insert("Entrypoint".into(), json!(argv));
        text
    }

    pub fn labels(&mut self, pairs: &[KeyValue]) -> String {
        let mut text = String::from("LABEL");
        let section = self.section();
        if !section.get("Labels").is_some_and(Value::is_object) {
            section.insert("Labels".into(), json!({}));
        }
        for kv in pairs {
            if let Some(labels) = section.get_mut("Labels").and_then(Value::as_object_mut) {
                labels.insert(kv.key.clone(), json!(kv.value));
            }
            text.push_str(&format!(" {}={}", kv.key, kv.value));
        }
        text
    }

    /// EXPOSE: each port (ranges expanded) as `port/proto`.
    pub fn expose(&mut self, ports: &[String]) -> Result<String, String> {
        let mut keys = Vec::new();
        for port in ports {
            let spec = parse_port_spec(port).map_err(|_| port.clone())?;
            let proto = format!("{:?}", spec.protocol).to_lowercase();
            for p in spec.start..=spec.end {
                keys.push(format!("{p}/{proto}"));
            }
        }
        self.insert_set("ExposedPorts", &keys);
        // BuildKit: `fmt.Sprintf("EXPOSE %v", portSet)`.
        Ok(format!("EXPOSE {}", go_port_set(&keys)))
    }

    pub fn volumes(&mut self, paths: &[String]) -> String {
        self.insert_set("Volumes", paths);
        format!("VOLUME [{}]", paths.join(" "))
    }

    fn insert_set(&mut self, field: &str, keys: &[String]) {
        let section = self.section();
        if !section.get(field).is_some_and(Value::is_object) {
            section.insert(field.into(), json!({}));
        }
        if let Some(set) = section.get_mut(field).and_then(Value::as_object_mut) {
            for key in keys {
                set.insert(key.clone(), json!({}));
            }
        }
    }

    pub fn stop_signal(&mut self, signal: &str) {
        self.section().insert("StopSignal".into(), json!(signal));
    }

    pub fn shell_instruction(&mut self, shell: &[String]) -> String {
        self.section().insert("Shell".into(), json!(shell));
        format!("SHELL {}", go_plain_list(shell))
    }

    pub fn onbuild(&mut self, expression: &str) {
        let mut triggers = strings(self.get("OnBuild"));
        triggers.push(expression.to_string());
        self.section().insert("OnBuild".into(), json!(triggers));
    }

    pub fn healthcheck(&mut self, check: &Healthcheck) -> String {
        let value = match check {
            Healthcheck::None => json!({"Test": ["NONE"]}),
            Healthcheck::Check {
                test,
                interval,
                timeout,
                start_period,
                start_interval,
                retries,
            } => {
                let test = healthcheck_test(test);
                let mut map = Map::new();
                map.insert("Test".into(), json!(test));
                let nanos = |d: &std::time::Duration| json!(d.as_nanos() as u64);
                for (key, d) in [
                    ("Interval", interval),
                    ("Timeout", timeout),
                    ("StartPeriod", start_period),
                    ("StartInterval", start_interval),
                ] {
                    if let Some(d) = d {
                        map.insert(key.into(), nanos(d));
                    }
                }
                if let Some(r) = retries {
                    map.insert("Retries".into(), json!(r));
                }
                Value::Object(map)
            }
        };
        let text = format!("HEALTHCHECK {}", healthcheck_history(check));
        self.section().insert("Healthcheck".into(), value);
        text
    }

    /// Records a step; `layer` is the new diffID when the step produced one.
    pub fn history(&mut self, created: &str, created_by: &str, layer: Option<&berth_oci::Digest>) {
        let mut entry = json!({
            "created": created,
            "created_by": created_by,
            "comment": HISTORY_COMMENT,
        });
        match layer {
            Some(diff_id) => {
                if !self.doc["rootfs"]["diff_ids"].is_array() {
                    self.doc["rootfs"] = json!({"type": "layers", "diff_ids": []});
                }
                if let Some(ids) = self.doc["rootfs"]["diff_ids"].as_array_mut() {
                    ids.push(json!(diff_id.to_string()));
                }
            }
            None => entry["empty_layer"] = json!(true),
        }
        if !self.doc["history"].is_array() {
            self.doc["history"] = json!([]);
        }
        if let Some(history) = self.doc["history"].as_array_mut() {
            history.push(entry);
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A healthcheck's `Test` as the config stores it: `CMD` + argv, or `CMD-SHELL` + the line.
fn healthcheck_test(test: &CommandLine) -> Vec<String> {
    match test {
        CommandLine::Exec(args) => [vec!["CMD".to_string()], args.clone()].concat(),
        CommandLine::Shell(line) => vec!["CMD-SHELL".to_string(), line.clone()],
    }
}

/// BuildKit's `fmt.Sprintf("HEALTHCHECK %q", &config)`: `&{["CMD-SHELL" "x"] "5s" "2s" "1s"
/// '\x04'}` — Docker 20.10's struct (the oracle of tests/build-oracle); newer BuildKit adds a
/// StartInterval field, written here only when --start-interval was given.
fn healthcheck_history(check: &Healthcheck) -> String {
    let zero = std::time::Duration::ZERO;
    let (test, durations, start_interval, retries) = match check {
        Healthcheck::None => (vec!["NONE".to_string()], [zero; 3], None, 0),
        Healthcheck::Check {
            test,
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        } => {
            let test = healthcheck_test(test);
            let durations = [interval, timeout, start_period].map(|d| d.unwrap_or(zero));
            (test, durations, *start_interval, retries.unwrap_or(0))
        }
    };
    let mut fields = vec![go_quoted_list(&test)];
    fields.extend(durations.into_iter().map(go_quoted_duration));
    fields.extend(start_interval.map(go_quoted_duration));
    fields.push(go_quoted_rune(retries));
    format!("&{{{}}}", fields.join(" "))
}

/// Lexically cleans an absolute path (`/a/./b/../c` → `/a/c`).
pub fn clean_abs(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}
