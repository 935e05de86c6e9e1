use super::*;

fn opts() -> ContainerOptions {
    ContainerOptions::default()
}

#[test]
fn flags_become_the_create_body() {
    let mut o = opts();
    o.interactive = true;
    o.tty = true;
    o.env = vec!["A=1".into(), "BERTH_SURELY_UNSET_VAR".into()];
    o.workdir = Some("/w".into());
    o.user = Some("1000:1000".into());
    o.entrypoint = Some("/bin/sh".into());
    o.hostname = Some("h".into());
    o.label = vec!["k=v".into(), "flag".into()];
    o.memory = Some("512m".into());
    o.memory_swap = Some("-1".into());
    o.cpus = Some("1.5".into());
    o.pids_limit = Some(100);
    o.ulimit = vec!["nofile=1024:2048".into()];
    o.read_only = true;
    o.init = true;
    o.cap_add = vec!["NET_ADMIN".into()];
    o.network = Some("none".into());
    o.volume = vec!["/host:/c:ro".into(), "/anon".into()];
    o.tmpfs = vec!["/run:size=1m".into()];
    o.publish = vec!["127.0.0.1:8080:80".into(), "53/udp".into()];
    o.stop_signal = Some("SIGINT".into());
    o.log_opt = vec!["max-size=1m".into()];
    let body = o
        .to_create_body(
            "busybox",
            &["sh".into(), "-c".into(), "true".into()],
            true,
            true,
        )
        .unwrap();
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(json["Image"], "busybox");
    assert_eq!(json["Cmd"], serde_json::json!(["sh", "-c", "true"]));
    assert_eq!(json["Entrypoint"], serde_json::json!(["/bin/sh"]));
    assert_eq!(json["Env"], serde_json::json!(["A=1"]));
    assert_eq!(json["Tty"], true);
    assert_eq!(json["OpenStdin"], true);
    assert_eq!(json["AttachStdin"], true);
    assert_eq!(json["StdinOnce"], true);
    assert_eq!(json["Labels"]["k"], "v");
    assert_eq!(json["Labels"]["flag"], "");
    assert_eq!(json["Volumes"], serde_json::json!({"/anon": {}}));
    assert_eq!(
        json["ExposedPorts"],
        serde_json::json!({"80/tcp": {}, "53/udp": {}})
    );
    let hc = &json["HostConfig"];
    assert_eq!(hc["AutoRemove"], true);
    assert_eq!(hc["Memory"], 512 * 1024 * 1024);
    assert_eq!(hc["MemorySwap"], -1);
    assert_eq!(hc["NanoCpus"], 1_500_000_000i64);
    assert_eq!(hc["PidsLimit"], 100);
    assert_eq!(
        hc["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 1024, "Hard": 2048}])
    );
    assert_eq!(hc["ReadonlyRootfs"], true);
    assert_eq!(hc["Init"], true);
    assert_eq!(hc["CapAdd"], serde_json::json!(["NET_ADMIN"]));
    assert_eq!(hc["NetworkMode"], "none");
    assert_eq!(hc["Binds"], serde_json::json!(["/host:/c:ro"]));
    assert_eq!(hc["Tmpfs"], serde_json::json!({"/run": "size=1m"}));
    assert_eq!(
        hc["PortBindings"]["80/tcp"],
        serde_json::json!([{"HostIp": "127.0.0.1", "HostPort": "8080"}])
    );
    assert_eq!(
        hc["PortBindings"]["53/udp"],
        serde_json::json!([{"HostIp": "", "HostPort": ""}])
    );
    assert_eq!(hc["LogConfig"]["Config"]["max-size"], "1m");
}

#[test]
fn detached_runs_attach_nothing() {
    let mut o = opts();
    o.interactive = true;
    let body = o.to_create_body("x", &[], false, false).unwrap();
    assert_eq!(body.attach_stdin, Some(false));
    assert_eq!(body.attach_stdout, Some(false));
    assert_eq!(body.open_stdin, Some(true));
    assert_eq!(body.cmd, None);
}

#[test]
fn sizes_parse_like_go_units() {
    assert_eq!(parse_bytes("m", "1024").unwrap(), 1024);
    assert_eq!(parse_bytes("m", "1k").unwrap(), 1024);
    assert_eq!(parse_bytes("m", "1.5g").unwrap(), 1_610_612_736);
    assert_eq!(parse_bytes("m", "64MB").unwrap(), 64 << 20);
    assert!(parse_bytes("m", "lots").is_err());
    assert!(parse_bytes("m", "-1").is_err());
}

#[test]
fn bad_flags_name_the_flag() {
    let err = parse_publish("80:x").unwrap_err().to_string();
    assert!(err.contains("\"publish\""), "{err}");
    assert!(parse_ulimit("nofile").is_err());
    assert!(parse_restart("sometimes").is_err());
    let mut o = opts();
    o.cpus = Some("many".into());
    let err = o
        .to_create_body("x", &[], true, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"cpus\""), "{err}");
}

#[test]
fn devices_and_restart() {
    let d = parse_device("/dev/fuse").unwrap();
    assert_eq!(d.path_in_container.as_deref(), Some("/dev/fuse"));
    assert_eq!(d.cgroup_permissions.as_deref(), Some("rwm"));
    let d = parse_device("/dev/a:/dev/b:r").unwrap();
    assert_eq!(d.path_in_container.as_deref(), Some("/dev/b"));
    assert_eq!(d.cgroup_permissions.as_deref(), Some("r"));
    let r = parse_restart("on-failure:3").unwrap();
    assert_eq!(r.maximum_retry_count, Some(3));
}

#[test]
fn env_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env");
    std::fs::write(&path, "# comment\n\nA=1\n  B=two words\n").unwrap();
    assert_eq!(read_env_file(&path).unwrap(), vec!["A=1", "B=two words"]);
    assert!(read_env_file(&dir.path().join("missing")).is_err());
}
