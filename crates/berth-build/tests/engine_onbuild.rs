//! ONBUILD triggers of the base run after FROM, as Docker's classic builder runs them: from
//! an image and from an earlier stage, with the cache, and cleared in the result.

mod engine_support;

use std::sync::{Arc, Mutex};

use berth_build::engine::{OutputSink, build};
use engine_support::Env;

const BASE_TAG: &str = "build7-onbuild-base:latest";

const BASE: &str = "FROM fixtures/busybox:1.35\n\
     ENV GREETING=hello\n\
     ONBUILD COPY app.txt /app/\n\
     ONBUILD RUN echo \"$GREETING from a trigger\" > /app/ran\n\
     ONBUILD ENV TRIGGERED=yes\n";

const CHILD: &str = "FROM build7-onbuild-base\n\
     RUN cat /app/app.txt /app/ran > /app/all && echo \"$TRIGGERED\" >> /app/all\n";

fn capture(opts: &mut berth_build::engine::BuildOptions) -> Arc<Mutex<Vec<u8>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let sink: OutputSink = Arc::new(move |c: &[u8]| into.lock().unwrap().extend_from_slice(c));
    opts.output = Some(sink);
    seen
}

#[test]
fn triggers_of_a_base_image_run_before_the_stage_and_are_cleared() {
    let env = Env::new();
    let mut base = env.options(BASE);
    base.tags = vec![BASE_TAG.to_string()];
    let base = build(&env.store, &base).unwrap();
    let base_config = env.config(&base);
    assert_eq!(
        base_config["config"]["OnBuild"].as_array().map(Vec::len),
        Some(3)
    );

    env.write(&[("app.txt", "the app\n")]);
    let mut opts = env.options(CHILD);
    let output = capture(&mut opts);
    let child = build(&env.store, &opts).unwrap();
    assert_eq!(child.runs_executed, 2, "the trigger's RUN and the stage's");
    let text = String::from_utf8(output.lock().unwrap().clone()).unwrap();
    assert!(text.contains("# Executing 3 build triggers\n"), "{text}");
    assert!(text.contains("Step 2/2 : RUN cat"), "{text}");

    let view = env.view(&child);
    assert_eq!(view.read("app/all"), "the app\nhello from a trigger\nyes\n");
    drop(view);
    let config = env.config(&child);
    assert!(
        config["config"]["OnBuild"]
            .as_array()
            .is_none_or(|t| t.is_empty()),
        "{config:#}"
    );
    let env_list: Vec<&str> = config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env_list.contains(&"TRIGGERED=yes"), "{env_list:?}");
    let created_by: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str())
        .collect();
    assert!(
        created_by.iter().any(|c| c.contains("COPY app.txt /app/")),
        "{created_by:#?}"
    );

    // Unchanged: every trigger and step from the cache, the same image.
    let again = build(&env.store, &opts).unwrap();
    assert_eq!(
        (again.runs_executed, again.image.id.clone()),
        (0, child.image.id.clone())
    );
    // A changed file the trigger copies invalidates it and what follows.
    env.write(&[("app.txt", "changed\n")]);
    let changed = build(&env.store, &env.options(CHILD)).unwrap();
    assert_eq!(changed.runs_executed, 2);
    env.assert_clean();
}

#[test]
fn triggers_of_an_earlier_stage_run_and_a_failing_one_names_the_from_line() {
    let env = Env::new();
    let built = env.build(
        "FROM fixtures/busybox:1.35 AS parent\n\
         ONBUILD RUN touch /from-stage-trigger\n\
         FROM parent\n\
         RUN test -f /from-stage-trigger\n",
    );
    assert_eq!(built.runs_executed, 2);
    let view = env.view(&built);
    assert!(view.path("from-stage-trigger").is_file());
    drop(view);

    let err = build(
        &env.store,
        &env.options(
            "FROM fixtures/busybox:1.35 AS parent\n\
             ONBUILD RUN exit 3\n\
             FROM parent\n",
        ),
    )
    .unwrap_err();
    assert_eq!(err.line(), Some(3), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("Dockerfile:3: ONBUILD trigger \"RUN exit 3\""),
        "{message}"
    );
    assert!(message.contains("exit code 3"), "{message}");
    env.assert_clean();
}
