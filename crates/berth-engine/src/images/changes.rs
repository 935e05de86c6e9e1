//! `docker import --change`: Dockerfile instructions that only touch the image config (CMD,
//! ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR), parsed with
//! the build's Dockerfile parser and applied to the config's `config` section.

use berth_build::instructions::{CommandLine, Instruction, parse_instruction};
use serde_json::{Map, Value, json};

use super::ImageError;

fn bad(change: &str, detail: impl Into<String>) -> ImageError {
    ImageError::BadChange {
        change: change.to_owned(),
        detail: detail.into(),
    }
}

/// The `config` section the changes describe, starting from an empty one.
pub fn apply_changes(changes: &[String]) -> Result<Value, ImageError> {
    apply_changes_to(Map::new(), changes)
}

/// Applies `changes` on top of an existing `config` section.
pub fn apply_changes_to(
    mut config: Map<String, Value>,
    changes: &[String],
) -> Result<Value, ImageError> {
    for change in changes.iter().filter(|c| !c.trim().is_empty()) {
        let file = berth_build::parser::parse_named("--change", change.as_bytes())
            .map_err(|e| bad(change, e.to_string()))?;
        for node in &file.children {
            let instruction =
                parse_instruction(node, "--change").map_err(|e| bad(change, e.to_string()))?;
            apply(&mut config, &instruction, change)?;
        }
    }
    Ok(Value::Object(config))
}

fn argv(command: &CommandLine) -> Vec<String> {
    match command {
        CommandLine::Exec(args) => args.clone(),
        CommandLine::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
    }
}

fn object<'a>(config: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = config
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("made an object above")
}

fn apply(
    config: &mut Map<String, Value>,
    instruction: &Instruction,
    change: &str,
) -> Result<(), ImageError> {
    match instruction {
        Instruction::Cmd(c) => {
            config.insert("Cmd".into(), json!(argv(c)));
        }
        Instruction::Entrypoint(c) => {
            config.insert("Entrypoint".into(), json!(argv(c)));
        }
        Instruction::Env(pairs) => {
            let mut env: Vec<String> = config
                .get("Env")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            for kv in pairs {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != kv.key);
                env.push(format!("{}={}", kv.key, kv.value));
            }
            config.insert("Env".into(), json!(env));
        }
        Instruction::Label(pairs) => {
            let labels = object(config, "Labels");
            for kv in pairs {
                labels.insert(kv.key.clone(), json!(kv.value));
            }
        }
        Instruction::Expose(ports) => {
            let exposed = object(config, "ExposedPorts");
            for port in ports {
                let key = if port.contains('/') {
                    port.clone()
                } else {
                    format!("{port}/tcp")
                };
                exposed.insert(key, json!({}));
            }
        }
        Instruction::Volume(paths) => {
            let volumes = object(config, "Volumes");
            for path in paths {
                volumes.insert(path.clone(), json!({}));
            }
        }
        Instruction::User(user) => {
            config.insert("User".into(), json!(user));
        }
        Instruction::Workdir(dir) => {
            config.insert("WorkingDir".into(), json!(dir));
        }
        Instruction::StopSignal(signal) => {
            config.insert("StopSignal".into(), json!(signal));
        }
        other => {
            return Err(bad(
                change,
                format!(
                    "{} is not allowed here (only instructions that set image config)",
                    other.keyword()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_become_config_fields() {
        let config = apply_changes(&[
            r#"CMD ["sh", "-c", "echo hi"]"#.into(),
            "ENV A=1 B=2".into(),
            "ENV A=3".into(),
            "ENTRYPOINT exec me".into(),
            "EXPOSE 80 53/udp".into(),
            "LABEL x=y".into(),
            "WORKDIR /srv".into(),
            "USER nobody".into(),
        ])
        .unwrap();
        assert_eq!(config["Cmd"], json!(["sh", "-c", "echo hi"]));
        assert_eq!(config["Env"], json!(["B=2", "A=3"]));
        assert_eq!(config["Entrypoint"], json!(["/bin/sh", "-c", "exec me"]));
        assert_eq!(config["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(config["Labels"], json!({"x": "y"}));
        assert_eq!(config["WorkingDir"], "/srv");
        assert_eq!(config["User"], "nobody");
        assert!(apply_changes(&["RUN rm -rf /".into()]).is_err());
        assert!(apply_changes(&["NOPE x".into()]).is_err());
    }
}
