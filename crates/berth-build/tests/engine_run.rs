//! RUN: failures report the exit code and output tail and leave nothing behind; identical
//! inputs give identical images.

mod engine_support;

use berth_build::engine::{BuildError, build};
use engine_support::Env;

#[test]
fn failing_run_reports_exit_code_and_output_and_cleans_up() {
    let env = Env::new();
    let opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN echo first-step > /f\n\
         RUN echo about-to-fail && echo on-stderr >&2 && exit 3\n",
    );
    let err = build(&env.store, &opts).unwrap_err();
    match err.cause() {
        BuildError::RunFailed {
            line, code, tail, ..
        } => {
            assert_eq!((*line, *code), (3, 3));
            assert!(tail.contains("about-to-fail"), "{tail}");
            assert!(tail.contains("on-stderr"), "{tail}");
        }
        other => panic!("expected RunFailed, got {other}"),
    }
    assert!(err.to_string().contains("exit code 3"), "{err}");
    env.assert_clean();
}

#[test]
fn run_sees_env_workdir_user_and_build_args() {
    let env = Env::new();
    let mut opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         ARG GIVEN\n\
         ENV FROM_ENV=e1\n\
         WORKDIR /w\n\
         RUN echo \"$FROM_ENV $GIVEN $(pwd) $(id -u)\" > /w/seen\n\
         RUN --network=none cat /proc/net/dev | grep -c : > /w/ifaces\n",
    );
    opts.build_args.insert("GIVEN".into(), "from-cli".into());
    let result = build(&env.store, &opts).unwrap();
    assert_eq!(result.runs_executed, 2);
    {
        let view = env.view(&result);
        assert_eq!(view.read("/w/seen"), "e1 from-cli /w 0\n");
        // A new network namespace has only loopback.
        assert_eq!(view.read("/w/ifaces"), "1\n");
    }
    // Build args reach RUN but not the image config.
    let config = env.config(&result);
    let env_list = config["config"]["Env"].to_string();
    assert!(!env_list.contains("GIVEN"), "{env_list}");
    let history = config["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["created_by"]
            == "RUN |1 GIVEN=from-cli /bin/sh -c echo \"$FROM_ENV $GIVEN $(pwd) $(id -u)\" > /w/seen # buildkit"),
        "{history:#?}"
    );
    env.assert_clean();
}

#[test]
fn identical_rebuild_gives_identical_image_id() {
    let env = Env::new();
    env.write(&[("app/main.txt", "main\n"), ("app/lib/l.txt", "lib\n")]);
    let dockerfile = "FROM fixtures/busybox:1.35\n\
         COPY app /app/\n\
         RUN echo built > /app/stamp && mkdir /app/out && rm /bin/vi\n\
         ENV MODE=release\n\
         CMD [\"cat\", \"/app/stamp\"]\n";
    let mut opts = env.options(dockerfile);
    opts.source_date_epoch = Some(1_700_000_000);
    // Without the cache: the layers themselves must come out bit-identical.
    opts.no_cache = true;
    let first = build(&env.store, &opts).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build(&env.store, &opts).unwrap();
    assert_eq!(first.image.id, second.image.id);
    assert_eq!(first.image.layers, second.image.layers);
    assert_eq!(first.image.layers.len(), 3);
    // The deletion is a whiteout in the RUN layer.
    let mut archive = env.layer_archive(&first, 2);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"bin/.wh.vi".to_string()), "{names:?}");
    assert!(names.contains(&"app/stamp".to_string()), "{names:?}");
    {
        let view = env.view(&first);
        assert!(!view.path("/bin/vi").exists());
        assert_eq!(view.read("/app/stamp"), "built\n");
    }
    env.assert_clean();
}

#[test]
fn unchanged_rebuild_runs_nothing_and_changed_input_reruns() {
    let env = Env::new();
    env.write(&[("src/input.txt", "v1\n")]);
    let dockerfile = "FROM fixtures/busybox:1.35\n\
         ARG FLAVOUR=plain\n\
         COPY src /src/\n\
         RUN cat /src/input.txt > /out && echo $FLAVOUR >> /out\n\
         ENV DONE=1\n";
    let opts = env.options(dockerfile);
    let first = build(&env.store, &opts).unwrap();
    assert_eq!((first.runs_executed, first.steps_cached), (1, 0));

    let again = build(&env.store, &opts).unwrap();
    assert_eq!((again.runs_executed, again.steps_cached), (0, 2));
    assert_eq!(again.image.id, first.image.id);

    // A different build arg value changes the RUN's key but not the COPY's.
    let mut flavoured = opts.clone();
    flavoured
        .build_args
        .insert("FLAVOUR".into(), "spicy".into());
    let spicy = build(&env.store, &flavoured).unwrap();
    assert_eq!((spicy.runs_executed, spicy.steps_cached), (1, 1));

    // Changed context content invalidates the COPY and everything after it.
    env.write(&[("src/input.txt", "v2\n")]);
    let changed = build(&env.store, &opts).unwrap();
    assert_eq!((changed.runs_executed, changed.steps_cached), (1, 0));
    {
        let view = env.view(&changed);
        assert_eq!(view.read("/out"), "v2\nplain\n");
    }

    // --no-cache runs everything again.
    let mut no_cache = opts.clone();
    no_cache.no_cache = true;
    let fresh = build(&env.store, &no_cache).unwrap();
    assert_eq!((fresh.runs_executed, fresh.steps_cached), (1, 0));
    env.assert_clean();
}

#[test]
fn user_by_name_runs_the_step_and_owns_a_new_workdir() {
    let env = Env::new();
    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         RUN echo 'app:x:1234:2345::/home/app:/bin/sh' >> /etc/passwd && echo 'appgrp:x:2345:' >> /etc/group\n\
         USER app\n\
         WORKDIR /home/app\n\
         RUN echo \"$(id -u):$(id -g)\" > ids\n",
    );
    {
        use std::os::unix::fs::MetadataExt;
        let view = env.view(&result);
        let home = std::fs::metadata(view.path("/home/app")).unwrap();
        assert_eq!((home.uid(), home.gid()), (1234, 2345));
        assert_eq!(view.read("/home/app/ids"), "1234:2345\n");
    }
    env.assert_clean();
}
