//! Named build contexts (`--build-context NAME=VALUE`): a directory read by `COPY --from`,
//! `RUN --mount from=` and `FROM`, an image standing in for what a FROM names, a context that
//! replaces a stage of the same name, and cache keys over the files a step reads.

mod engine_support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use berth_build::engine::{BuildError, BuildOptions, NamedContext, build};
use engine_support::Env;

/// A directory beside the main context, with `files` written into it.
fn side_dir(env: &Env, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = env.dir.path().join(name);
    for (path, content) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

fn with_context(mut opts: BuildOptions, name: &str, context: NamedContext) -> BuildOptions {
    opts.named_contexts.insert(name, context).unwrap();
    opts
}

#[test]
fn copy_from_a_directory_context_applies_its_own_dockerignore() {
    let env = Env::new();
    env.write(&[("main.txt", "main\n")]);
    let src = side_dir(
        &env,
        "src",
        &[
            (".dockerignore", "*.log\n"),
            ("a.txt", "a\n"),
            ("sub/b.txt", "b\n"),
            ("debug.log", "no\n"),
        ],
    );
    // Owned by someone else on the host: COPY makes them 0:0 as it does the main context's.
    std::os::unix::fs::chown(src.join("a.txt"), Some(4321), Some(4321)).unwrap();
    let opts = with_context(
        env.options(
            "FROM fixtures/busybox:1.35\n\
             COPY --from=src . /src/\n\
             COPY --from=src sub/b.txt /b.txt\n\
             COPY . /main/\n",
        ),
        "src",
        NamedContext::Local(src.clone()),
    );
    let result = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    {
        let view = env.view(&result);
        assert_eq!(view.read("/src/a.txt"), "a\n");
        assert_eq!(view.read("/src/sub/b.txt"), "b\n");
        assert_eq!(view.read("/b.txt"), "b\n");
        assert!(
            !view.path("/src/debug.log").exists(),
            "its .dockerignore applies"
        );
        let owner = fs::metadata(view.path("/src/a.txt")).unwrap();
        assert_eq!((owner.uid(), owner.gid()), (0, 0));
        // The main context is only the main context.
        assert_eq!(view.read("/main/main.txt"), "main\n");
        assert!(!view.path("/main/a.txt").exists());
    }
    env.assert_clean();
}

#[test]
fn a_changed_file_in_a_directory_context_reruns_only_the_steps_that_read_it() {
    let env = Env::new();
    let src = side_dir(
        &env,
        "src",
        &[
            (".dockerignore", "ignored\n"),
            ("a.txt", "a\n"),
            ("b.txt", "b\n"),
        ],
    );
    let dockerfile = "FROM fixtures/busybox:1.35\n\
                      COPY --from=src a.txt /a.txt\n\
                      COPY --from=src b.txt /b.txt\n";
    let opts = with_context(
        env.options(dockerfile),
        "src",
        NamedContext::Local(src.clone()),
    );
    let first = build(&env.store, &opts).unwrap();
    assert_eq!(first.steps_cached, 0);

    // Untouched, and only an ignored file or an mtime changed: all cached, same image.
    fs::write(src.join("ignored"), "x").unwrap();
    let file = fs::File::options()
        .write(true)
        .open(src.join("a.txt"))
        .unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    drop(file);
    let again = build(&env.store, &opts).unwrap();
    assert_eq!((again.steps_cached, &again.image.id), (2, &first.image.id));

    // b.txt's content: the first COPY stays cached, the second runs.
    fs::write(src.join("b.txt"), "B\n").unwrap();
    let changed = build(&env.store, &opts).unwrap();
    assert_eq!(changed.steps_cached, 1);
    assert_ne!(changed.image.id, first.image.id);
    {
        let view = env.view(&changed);
        assert_eq!(view.read("/b.txt"), "B\n");
    }

    // a.txt's mode (metadata): the first COPY runs again. The second, unchanged and into a
    // path its new parent lacks too, reuses its layer.
    fs::set_permissions(src.join("a.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    let moded = build(&env.store, &opts).unwrap();
    assert_eq!((moded.steps_cached, moded.layers_created), (1, 1));
    env.assert_clean();
}

#[test]
fn an_image_context_stands_in_for_the_image_a_from_names() {
    let env = Env::new();
    // The store has no `busybox`: only the context makes `FROM busybox` resolvable.
    let dockerfile = "FROM busybox\nRUN echo ran > /ran\n";
    let err = build(&env.store, &env.options(dockerfile)).unwrap_err();
    assert!(matches!(err.cause(), BuildError::BaseImage { .. }), "{err}");
    let opts = with_context(
        env.options(dockerfile),
        "busybox",
        NamedContext::Image("fixtures/busybox:1.35".into()),
    );
    let result = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    let base = env.store.images.resolve("fixtures/busybox:1.35").unwrap();
    assert_eq!(result.image.layers[0].digest, base.layers[0].digest);
    assert_eq!(result.runs_executed, 1);
    {
        let view = env.view(&result);
        assert_eq!(view.read("/ran"), "ran\n");
    }
    // `docker.io/library/busybox:latest` is the same name.
    let opts = with_context(
        env.options("FROM docker.io/library/busybox:latest\nRUN echo ran > /ran\n"),
        "busybox",
        NamedContext::Image("fixtures/busybox:1.35".into()),
    );
    let same = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(same.runs_executed, 0, "the same base and step: cached");
    env.assert_clean();
}

#[test]
fn a_context_named_like_a_stage_replaces_the_whole_stage() {
    let env = Env::new();
    let prebuilt = side_dir(&env, "prebuilt", &[("out/app", "prebuilt app\n")]);
    let dockerfile = "FROM fixtures/busybox:1.35 AS build\n\
                      RUN exit 3\n\
                      FROM fixtures/busybox:1.35\n\
                      COPY --from=build /out/app /app\n\
                      RUN --mount=type=bind,from=build,source=out,target=/mnt cat /mnt/app > /mounted\n";
    let opts = with_context(
        env.options(dockerfile),
        "build",
        NamedContext::Local(prebuilt),
    );
    let result = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    // The failing RUN of the replaced stage never ran; the final stage's did.
    assert_eq!(result.runs_executed, 1);
    {
        let view = env.view(&result);
        assert_eq!(view.read("/app"), "prebuilt app\n");
        assert_eq!(view.read("/mounted"), "prebuilt app\n");
    }
    // Replaced by an image, `FROM build` starts from it.
    let opts = with_context(
        env.options(
            "FROM scratch AS build\n\
             COPY missing /nothing\n\
             FROM build\n\
             RUN echo from-image > /marker\n",
        ),
        "build",
        NamedContext::Image("fixtures/busybox:1.35".into()),
    );
    let result = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    {
        let view = env.view(&result);
        assert_eq!(view.read("/marker"), "from-image\n");
        assert!(view.path("/bin/busybox").exists());
    }
    env.assert_clean();
}

#[test]
fn from_a_directory_context_makes_its_files_the_base() {
    let env = Env::new();
    let rootfs = side_dir(
        &env,
        "rootfs",
        &[
            (".dockerignore", "junk\n"),
            ("etc/motd", "hi\n"),
            ("junk", "x"),
        ],
    );
    let dockerfile = "FROM rootfs\nCOPY --from=fixtures/busybox:1.35 /bin/busybox /bin/busybox\n";
    let opts = with_context(
        env.options(dockerfile),
        "rootfs",
        NamedContext::Local(rootfs.clone()),
    );
    let result = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.image.layers.len(), 2);
    {
        let view = env.view(&result);
        assert_eq!(view.read("/etc/motd"), "hi\n");
        assert!(!view.path("/junk").exists());
        assert!(view.path("/bin/busybox").is_file());
    }
    let config = env.config(&result);
    let env_list = config["config"]["Env"].to_string();
    assert!(
        env_list.contains("PATH="),
        "an empty image's PATH: {config}"
    );
    // The directory's layer comes from the cache the second time.
    let again = build(&env.store, &opts).unwrap();
    assert_eq!((again.steps_cached, &again.image.id), (2, &result.image.id));
    env.assert_clean();
}

#[test]
fn run_mounts_read_a_directory_context_and_write_nothing_back() {
    let env = Env::new();
    let src = side_dir(&env, "src", &[("data/in.txt", "input\n")]);
    let dockerfile = "FROM fixtures/busybox:1.35\n\
                      RUN --mount=type=bind,from=src,source=data,target=/data,rw \
                          cat /data/in.txt > /copied && echo scribble > /data/in.txt\n";
    let opts = with_context(
        env.options(dockerfile),
        "src",
        NamedContext::Local(src.clone()),
    );
    let result = build(&env.store, &opts).unwrap_or_else(|e| panic!("{e}"));
    {
        let view = env.view(&result);
        assert_eq!(view.read("/copied"), "input\n");
    }
    assert_eq!(
        fs::read_to_string(src.join("data/in.txt")).unwrap(),
        "input\n"
    );
    // The mounted files are in the step's key: a change runs it again.
    let cached = build(&env.store, &opts).unwrap();
    assert_eq!(cached.runs_executed, 0);
    fs::write(src.join("data/in.txt"), "changed\n").unwrap();
    let rerun = build(&env.store, &opts).unwrap();
    assert_eq!(rerun.runs_executed, 1);
    env.assert_clean();
}

#[test]
fn a_missing_context_directory_is_a_clear_error() {
    let env = Env::new();
    let missing = env.dir.path().join("no-such-dir");
    let opts = with_context(
        env.options("FROM fixtures/busybox:1.35\nCOPY --from=src a /a\n"),
        "src",
        NamedContext::Local(missing.clone()),
    );
    let err = build(&env.store, &opts).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, BuildError::ContextDir { ref name, .. } if name == "src"),
        "{text}"
    );
    assert!(
        text.contains("\"src\"") && text.contains("no-such-dir"),
        "{text}"
    );
    // An image context that does not resolve names the reference, on the COPY's line.
    let opts = with_context(
        env.options("FROM fixtures/busybox:1.35\nCOPY --from=tools /x /x\n"),
        "tools",
        NamedContext::Image("fixtures/nothing:1".into()),
    );
    let text = build(&env.store, &opts).unwrap_err().to_string();
    assert!(
        text.starts_with("Dockerfile:2:") && text.contains("fixtures/nothing:1"),
        "{text}"
    );
    env.assert_clean();
}

#[test]
fn a_cache_mount_from_a_context_starts_as_its_files_and_then_persists() {
    let env = Env::new();
    let seed = side_dir(&env, "seed", &[("init/start", "seed\n")]);
    let dockerfile = "FROM fixtures/busybox:1.35\n\
                      RUN --mount=type=cache,id=ctx7-seeded,from=seed,source=init,target=/cache \
                          cat /cache/start > /seen && echo more >> /cache/start\n";
    let mut opts = with_context(
        env.options(dockerfile),
        "seed",
        NamedContext::Local(seed.clone()),
    );
    let seen = |opts: &BuildOptions| {
        let result = build(&env.store, opts).unwrap_or_else(|e| panic!("{e}"));
        let text = env.view(&result).read("/seen");
        (result.runs_executed, text)
    };
    assert_eq!(seen(&opts), (1, "seed\n".to_string()));
    // The seed is an input of the step: unchanged, the step is cached.
    assert_eq!(seen(&opts).0, 0);
    // Run again: the cache kept what the first run wrote (the seed is copied only once).
    opts.no_cache = true;
    assert_eq!(seen(&opts), (1, "seed\nmore\n".to_string()));
    assert_eq!(
        fs::read_to_string(seed.join("init/start")).unwrap(),
        "seed\n",
        "the context itself is never written"
    );
    // A changed seed is another cache, filled afresh, and reruns the step.
    opts.no_cache = false;
    fs::write(seed.join("init/start"), "new seed\n").unwrap();
    assert_eq!(seen(&opts), (1, "new seed\n".to_string()));
    env.assert_clean();
}
