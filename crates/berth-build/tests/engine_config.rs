//! Metadata instructions: the image config compared field by field with what Docker (BuildKit)
//! writes for the same Dockerfile.

mod engine_support;

use engine_support::Env;
use serde_json::json;

const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[test]
fn metadata_instructions_set_the_config_like_docker() {
    let env = Env::new();
    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         ARG VERSION=1.2\n\
         ENV APP_HOME=/srv/app GREETING=\"hello world\"\n\
         WORKDIR $APP_HOME\n\
         WORKDIR sub\n\
         USER root:root\n\
         LABEL org.example.version=$VERSION \"with space\"=yes\n\
         EXPOSE 80 53/udp 8000-8001\n\
         VOLUME /data\n\
         STOPSIGNAL SIGTERM\n\
         SHELL [\"/bin/sh\", \"-ec\"]\n\
         CMD echo $GREETING\n\
         ENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
         HEALTHCHECK --interval=5s --retries=2 CMD true\n\
         ONBUILD RUN echo triggered\n",
    );
    let config = env.config(&result);
    let c = &config["config"];
    // busybox has no Env: BuildKit adds the default PATH first.
    assert_eq!(
        c["Env"],
        json!([PATH, "APP_HOME=/srv/app", "GREETING=hello world"])
    );
    assert_eq!(c["WorkingDir"], json!("/srv/app/sub"));
    assert_eq!(c["User"], json!("root:root"));
    assert_eq!(
        c["Labels"],
        json!({"org.example.version": "1.2", "with space": "yes"})
    );
    assert_eq!(
        c["ExposedPorts"],
        json!({"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}})
    );
    assert_eq!(c["Volumes"], json!({"/data": {}}));
    assert_eq!(c["StopSignal"], json!("SIGTERM"));
    assert_eq!(c["Shell"], json!(["/bin/sh", "-ec"]));
    // Shell form goes through the SHELL in effect; CMD set in this stage survives ENTRYPOINT.
    assert_eq!(c["Cmd"], json!(["/bin/sh", "-ec", "echo $GREETING"]));
    assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c"]));
    assert_eq!(
        c["Healthcheck"],
        json!({"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000u64, "Retries": 2})
    );
    assert_eq!(c["OnBuild"], json!(["RUN echo triggered"]));
    // BuildKit marks every CMD's arguments as escaped (Docker's image spec field).
    assert_eq!(c["ArgsEscaped"], json!(true));
    assert_eq!(config["os"], json!("linux"));

    // WORKDIR created /srv/app/sub: one layer on top of busybox; the second WORKDIR's
    // directory is created in its own step too.
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    assert_eq!(diff_ids.len(), result.image.layers.len());
    assert_eq!(diff_ids.len(), 3);
    let history = config["history"].as_array().unwrap();
    let created_by: Vec<&str> = history
        .iter()
        .skip(1)
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(
        created_by,
        [
            "ARG VERSION=1.2",
            "ENV APP_HOME=/srv/app GREETING=hello world",
            "WORKDIR /srv/app",
            "WORKDIR /srv/app/sub",
            "USER root:root",
            "LABEL org.example.version=1.2 with space=yes",
            "EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]",
            "VOLUME [/data]",
            "STOPSIGNAL SIGTERM",
            "SHELL [/bin/sh -ec]",
            "CMD [\"/bin/sh\" \"-ec\" \"echo $GREETING\"]",
            "ENTRYPOINT [\"/bin/sh\" \"-c\"]",
            "HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x02'}",
        ]
    );
    let empty: Vec<bool> = history
        .iter()
        .skip(1)
        .map(|h| h["empty_layer"] == json!(true))
        .collect();
    assert_eq!(
        empty,
        [
            true, true, false, false, true, true, true, true, true, true, true, true, true
        ]
    );
    {
        let view = env.view(&result);
        assert!(view.path("/srv/app/sub").is_dir());
    }
    env.assert_clean();
}

#[test]
fn entrypoint_resets_an_inherited_cmd_and_scratch_gets_a_default_path() {
    let env = Env::new();
    let result = env.build(
        "FROM fixtures/busybox:1.35 AS base\n\
         CMD [\"sh\"]\n\
         FROM base\n\
         ENTRYPOINT [\"echo\"]\n\
         FROM scratch AS empty\n\
         ENV A=1\n",
    );
    let config = env.config(&result);
    assert_eq!(config["config"]["Env"], json!([PATH, "A=1"]));
    assert_eq!(result.image.layers.len(), 0);

    let mut opts = env.options(
        "FROM fixtures/busybox:1.35 AS base\n\
         CMD [\"sh\"]\n\
         FROM base\n\
         ENTRYPOINT [\"echo\"]\n",
    );
    opts.tags = vec!["berth-build-test/entry:1".into()];
    let result = berth_build::engine::build(&env.store, &opts).unwrap();
    let config = env.config(&result);
    assert_eq!(config["config"]["Entrypoint"], json!(["echo"]));
    assert_eq!(config["config"]["Cmd"], json!(null));
    let tagged = env
        .store
        .images
        .resolve("berth-build-test/entry:1")
        .unwrap();
    assert_eq!(tagged.id, result.image.id);
    env.assert_clean();
}
