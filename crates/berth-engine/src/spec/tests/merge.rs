//! `merge_image_config` and `process_args`: Docker's create-time rules.

use bollard_stubs::models::{ContainerConfig, HealthConfig};
use serde_json::json;

use crate::spec::{DEFAULT_PATH, SpecError, merge_image_config, process_args};

fn strings(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

fn image() -> serde_json::Value {
    json!({
        "User": "app",
        "Env": ["PATH=/image/bin", "LANG=C.UTF-8", "FOO=image"],
        "Entrypoint": ["/entry.sh"],
        "Cmd": ["serve", "--port", "80"],
        "WorkingDir": "/app",
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/data": {}},
        "Labels": {"a": "image", "b": "image"},
        "StopSignal": "SIGQUIT",
        "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5000000000u64, "Retries": 3},
        "Shell": ["/bin/bash", "-c"],
        "OnBuild": ["RUN echo"],
        "ArgsEscaped": true
    })
}

#[test]
fn empty_request_takes_everything_from_the_image() {
    let mut config = ContainerConfig::default();
    merge_image_config(&mut config, &image());
    assert_eq!(config.user.as_deref(), Some("app"));
    assert_eq!(
        config.env,
        strings(&["PATH=/image/bin", "LANG=C.UTF-8", "FOO=image"])
    );
    assert_eq!(config.entrypoint, strings(&["/entry.sh"]));
    assert_eq!(config.cmd, strings(&["serve", "--port", "80"]));
    assert_eq!(config.working_dir.as_deref(), Some("/app"));
    assert_eq!(config.exposed_ports, strings(&["80/tcp"]));
    assert_eq!(config.volumes, strings(&["/data"]));
    assert_eq!(config.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(config.shell, strings(&["/bin/bash", "-c"]));
    assert_eq!(config.on_build, strings(&["RUN echo"]));
    assert_eq!(config.args_escaped, Some(true));
    assert_eq!(config.healthcheck.as_ref().unwrap().retries, Some(3));
    assert_eq!(
        process_args(&config).unwrap(),
        ["/entry.sh", "serve", "--port", "80"]
    );
}

#[test]
fn the_request_wins_field_by_field() {
    let mut config = ContainerConfig {
        user: Some("root".into()),
        env: strings(&["FOO=mine", "NEW=1"]),
        cmd: strings(&["sh"]),
        exposed_ports: strings(&["443/tcp"]),
        labels: Some([("a".to_string(), "mine".to_string())].into()),
        healthcheck: Some(HealthConfig {
            interval: Some(1_000_000_000),
            ..Default::default()
        }),
        ..Default::default()
    };
    merge_image_config(&mut config, &image());
    assert_eq!(config.user.as_deref(), Some("root"));
    // Docker's order: the request's variables, then the image's it does not set.
    assert_eq!(
        config.env,
        strings(&["FOO=mine", "NEW=1", "PATH=/image/bin", "LANG=C.UTF-8"])
    );
    assert_eq!(config.cmd, strings(&["sh"]));
    assert_eq!(
        config.entrypoint,
        strings(&["/entry.sh"]),
        "a Cmd keeps the image's Entrypoint"
    );
    assert_eq!(config.exposed_ports, strings(&["443/tcp", "80/tcp"]));
    let labels = config.labels.unwrap();
    assert_eq!(
        (labels["a"].as_str(), labels["b"].as_str()),
        ("mine", "image")
    );
    let health = config.healthcheck.unwrap();
    assert_eq!(health.interval, Some(1_000_000_000));
    assert_eq!(health.test, strings(&["CMD", "true"]));
    assert_eq!(health.retries, Some(3));
}

#[test]
fn an_entrypoint_resets_the_image_cmd() {
    let mut config = ContainerConfig {
        entrypoint: strings(&["/bin/echo"]),
        ..Default::default()
    };
    merge_image_config(&mut config, &image());
    assert_eq!(config.cmd, None);
    assert_eq!(process_args(&config).unwrap(), ["/bin/echo"]);

    let mut cleared = ContainerConfig {
        entrypoint: strings(&[""]),
        cmd: strings(&["ls"]),
        ..Default::default()
    };
    merge_image_config(&mut cleared, &image());
    assert_eq!(cleared.entrypoint, None);
    assert_eq!(process_args(&cleared).unwrap(), ["ls"]);
}

#[test]
fn default_path_and_null_image_config() {
    let mut config = ContainerConfig {
        env: strings(&["A=1"]),
        ..Default::default()
    };
    merge_image_config(&mut config, &serde_json::Value::Null);
    assert_eq!(
        config.env,
        Some(vec!["A=1".to_string(), format!("PATH={DEFAULT_PATH}")])
    );
    assert!(matches!(process_args(&config), Err(SpecError::NoCommand)));
    assert_eq!(SpecError::NoCommand.to_string(), "no command specified");

    // Wrong shapes read as unset instead of failing.
    let mut odd = ContainerConfig::default();
    merge_image_config(
        &mut odd,
        &json!({"Env": "nope", "Cmd": 5, "Labels": [1], "User": 3}),
    );
    assert_eq!(odd.env, Some(vec![format!("PATH={DEFAULT_PATH}")]));
    assert_eq!(odd.cmd, None);
}
