//! `RUN --mount`: cache mounts persist between builds, binds read the context or a stage (and
//! are cache inputs), tmpfs is a tmpfs, secrets reach the step but no layer; no mount point
//! is left in the image and nothing is left mounted.

mod engine_support;

use berth_build::engine::{BuildError, build};
use engine_support::Env;

#[test]
fn cache_mounts_persist_between_builds_and_stay_out_of_the_image() {
    let env = Env::new();
    let mut opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN --mount=type=cache,target=/var/cache/app,id=berth-test-cache \\\n\
         \x20   sh -c 'echo run >> /var/cache/app/log; cat /var/cache/app/log > /seen'\n",
    );
    opts.no_cache = true;
    let first = build(&env.store, &opts).unwrap();
    let second = build(&env.store, &opts).unwrap();
    {
        let view = env.view(&first);
        assert_eq!(view.read("/seen"), "run\n");
    }
    let view = env.view(&second);
    assert_eq!(view.read("/seen"), "run\nrun\n");
    // The mount point (and /var/cache it needed) is not part of the image.
    assert!(!view.path("/var/cache").exists());
    drop(view);
    env.assert_clean();
}

#[test]
fn bind_mounts_read_the_context_and_invalidate_the_cache() {
    let env = Env::new();
    env.write(&[("src/a.txt", "version 1\n")]);
    let opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN --mount=type=bind,source=src,target=/src cat /src/a.txt > /out\n\
         RUN --mount=type=bind,source=src,target=/src,rw sh -c 'echo x > /src/new && ls /src > /ls'\n",
    );
    let result = build(&env.store, &opts).unwrap();
    {
        let view = env.view(&result);
        assert_eq!(view.read("/out"), "version 1\n");
        assert_eq!(view.read("/ls"), "a.txt\nnew\n");
        assert!(!view.path("/src").exists());
    }
    // rw writes are thrown away, never written back to the context.
    assert!(!env.context().join("src/new").exists());
    let cached = build(&env.store, &opts).unwrap();
    assert_eq!(
        (cached.runs_executed, cached.image.id),
        (0, result.image.id)
    );
    env.write(&[("src/a.txt", "version 2\n")]);
    let changed = build(&env.store, &opts).unwrap();
    assert_eq!(changed.runs_executed, 2);
    let view = env.view(&changed);
    assert_eq!(view.read("/out"), "version 2\n");
    drop(view);
    env.assert_clean();
}

#[test]
fn bind_from_a_stage_and_tmpfs() {
    let env = Env::new();
    let result = env.build(
        "FROM fixtures/busybox:1.35 AS data\n\
         RUN echo staged > /d\n\
         FROM fixtures/busybox:1.35\n\
         RUN --mount=type=bind,from=data,source=/d,target=/mnt/d cat /mnt/d > /got\n\
         RUN --mount=type=tmpfs,target=/scratch,size=1m \\\n\
         \x20   sh -c 'echo t > /scratch/f && grep \" /scratch tmpfs\" /proc/mounts | grep -c size=1024k > /tmpfs'\n",
    );
    let view = env.view(&result);
    assert_eq!(view.read("/got"), "staged\n");
    assert_eq!(view.read("/tmpfs"), "1\n");
    assert!(!view.path("/scratch").exists());
    assert!(!view.path("/mnt").exists());
    drop(view);
    env.assert_clean();
}

#[test]
fn secrets_reach_the_step_only() {
    let env = Env::new();
    let secret = env.dir.path().join("token.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    let mut opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN --mount=type=secret,id=tok,env=TOK,target=/run/secrets/tok \\\n\
         \x20   sh -c 'test \"$(cat /run/secrets/tok)\" = s3cret && test \"$TOK\" = s3cret && stat -c %a /run/secrets/tok > /mode'\n",
    );
    opts.secrets.insert("tok".into(), secret);
    let result = build(&env.store, &opts).unwrap();
    {
        let view = env.view(&result);
        assert_eq!(view.read("/mode"), "400\n");
        assert!(!view.path("/run/secrets").exists());
    }
    // The secret's variable is the step's only, not the image's.
    let config = env.config(&result);
    let image_env = config["config"]["Env"].to_string();
    assert!(!image_env.contains("TOK="), "{image_env}");

    // `env=` alone: the variable only, no file (BuildKit's rule).
    let mut opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN --mount=type=secret,id=tok,env=TOK sh -c 'test \"$TOK\" = s3cret && test ! -e /run/secrets/tok'\n",
    );
    opts.secrets
        .insert("tok".into(), env.dir.path().join("token.txt"));
    build(&env.store, &opts).unwrap();

    let opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN --mount=type=secret,id=absent,required true\n",
    );
    let err = build(&env.store, &opts).unwrap_err();
    assert!(
        matches!(err.cause(), BuildError::SecretMissing { line: 2, id } if id == "absent"),
        "{err}"
    );
    env.assert_clean();
}
