//! COPY/ADD `--exclude` (left out below each source, part of the cache key, excluded files
//! never change it) and COPY `--parents` (parent directories kept, `/./` pivot, `**`, also
//! with `--from`).

mod engine_support;

use std::os::unix::fs::MetadataExt;

use engine_support::Env;

const EXCLUDES: &str = "FROM fixtures/busybox:1.35\n\
     COPY --exclude=*.md --exclude=tmp app /app/\n\
     COPY --exclude=*.txt hom* /home-files/\n\
     ADD --exclude=sub/*.log logs /logs/\n";

#[test]
fn exclude_leaves_out_matches_below_each_source() {
    let env = Env::new();
    env.write(&[
        ("app/main.c", "int main;\n"),
        ("app/README.md", "no\n"),
        (
            "app/docs/guide.md",
            "kept: *.md matches the top level only\n",
        ),
        ("app/tmp/scratch", "no\n"),
        ("home1.txt", "no\n"),
        ("home2.sh", "yes\n"),
        ("logs/a.log", "kept\n"),
        ("logs/sub/b.log", "no\n"),
        ("logs/sub/c.txt", "kept\n"),
    ]);
    let first = env.build(EXCLUDES);
    {
        let view = env.view(&first);
        assert_eq!(view.read("/app/main.c"), "int main;\n");
        assert!(!view.path("/app/README.md").exists());
        assert!(view.path("/app/docs/guide.md").exists());
        assert!(!view.path("/app/tmp").exists());
        assert!(!view.path("/home-files/home1.txt").exists());
        assert_eq!(view.read("/home-files/home2.sh"), "yes\n");
        assert_eq!(view.read("/logs/a.log"), "kept\n");
        assert!(!view.path("/logs/sub/b.log").exists());
        assert_eq!(view.read("/logs/sub/c.txt"), "kept\n");
    }

    // Excluded files do not touch the cache key: changing them re-runs nothing.
    env.write(&[
        ("app/README.md", "changed\n"),
        ("app/tmp/scratch", "changed\n"),
        ("home1.txt", "changed\n"),
        ("logs/sub/b.log", "changed\n"),
    ]);
    let again = env.build(EXCLUDES);
    assert_eq!(again.steps_cached, 3);
    assert_eq!(again.image.id, first.image.id);

    // A copied file changing does (in the last step, so the two before stay cached).
    env.write(&[("logs/sub/c.txt", "changed\n")]);
    let changed = env.build(EXCLUDES);
    assert_eq!(changed.steps_cached, 2);

    // So does a changed pattern: the step re-runs and copies what it now includes.
    let fewer = env.build(
        "FROM fixtures/busybox:1.35\n\
         COPY --exclude=*.md app /app/\n\
         COPY --exclude=*.txt hom* /home-files/\n\
         ADD --exclude=sub/*.log logs /logs/\n",
    );
    // (The next COPY, unchanged and into a new directory, reuses its layer on the new parent.)
    assert_eq!(fewer.steps_cached, 1);
    assert_eq!(fewer.layers_created, 2);
    {
        let view = env.view(&fewer);
        assert_eq!(view.read("/app/tmp/scratch"), "changed\n");
        assert!(!view.path("/app/README.md").exists());
    }
    env.assert_clean();
}

#[test]
fn exclude_and_parents_values_are_checked_with_their_line() {
    let env = Env::new();
    env.write(&[("a/x", "x\n")]);
    let opts = env.options("FROM fixtures/busybox:1.35\nARG P=!x\nCOPY --exclude=$P a /a/\n");
    let err = berth_build::engine::build(&env.store, &opts).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("Dockerfile:3:") && text.contains("--exclude"),
        "{text}"
    );
    for bad in [
        "--exclude=**/x",
        "--exclude=!x",
        "--exclude=",
        "--parents=maybe",
    ] {
        let opts = env.options(&format!("FROM fixtures/busybox:1.35\n\nCOPY {bad} a /a/\n"));
        let err = berth_build::engine::build(&env.store, &opts).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("Dockerfile:3:"), "{bad}: {text}");
    }
    env.assert_clean();
}

#[test]
fn parents_keep_directories_below_the_pivot() {
    let env = Env::new();
    env.write(&[
        ("x/a.txt", "xa\n"),
        ("y/b.txt", "yb\n"),
        ("p/q/c.txt", "pqc\n"),
        ("p/q/d.md", "no\n"),
        ("src/a.txt", "1\n"),
        ("src/m/b.txt", "2\n"),
        ("src/m/n/c.txt", "3\n"),
        ("src/m/n/skip.bin", "no\n"),
    ]);
    std::fs::set_permissions(
        env.context().join("x"),
        std::os::unix::fs::PermissionsExt::from_mode(0o750),
    )
    .unwrap();
    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         COPY --parents ./x/a.txt ./y/b.txt /dst/\n\
         COPY --parents ./p/./q/*.txt /pivot/\n\
         COPY --parents ./src/**/*.txt /tree/\n\
         COPY --parents --exclude=m/n src/./m /excl/\n\
         RUN mkdir -p /opt/app/bin && echo tool > /opt/app/bin/tool\n\
         FROM fixtures/busybox:1.35\n\
         COPY --from=0 --parents /opt/./app/bin/tool /from/\n\
         COPY --from=0 --parents /dst/x/a.txt /abs/\n\
         COPY --from=0 --parents /dst /excl /all/\n",
    );
    let view = env.view(&result);
    // The last stage holds the --from copies; the first stage's own copies travel in /all.
    assert_eq!(view.read("/all/dst/x/a.txt"), "xa\n");
    assert_eq!(view.read("/all/dst/y/b.txt"), "yb\n");
    assert_eq!(view.read("/from/app/bin/tool"), "tool\n");
    assert_eq!(view.read("/abs/dst/x/a.txt"), "xa\n");
    assert_eq!(view.read("/all/excl/m/b.txt"), "2\n");
    assert!(!view.path("/all/excl/m/n").exists());
    drop(view);

    // The first stage alone, for the context-side copies.
    let mut opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         COPY --parents ./x/a.txt ./y/b.txt /dst/\n\
         COPY --parents ./p/./q/*.txt /pivot/\n\
         COPY --parents ./src/**/*.txt /tree/\n",
    );
    opts.no_cache = false;
    let first = berth_build::engine::build(&env.store, &opts).unwrap();
    assert_eq!(
        first.steps_cached, 3,
        "the same steps as in the first stage"
    );
    let view = env.view(&first);
    assert_eq!(view.read("/dst/x/a.txt"), "xa\n");
    assert_eq!(view.read("/dst/y/b.txt"), "yb\n");
    // Parent directories are made like their sources.
    let x = std::fs::metadata(view.path("/dst/x")).unwrap();
    assert_eq!(x.mode() & 0o7777, 0o750);
    assert_eq!(view.read("/pivot/q/c.txt"), "pqc\n");
    assert!(!view.path("/pivot/p").exists());
    assert!(!view.path("/pivot/q/d.md").exists());
    assert_eq!(view.read("/tree/src/a.txt"), "1\n");
    assert_eq!(view.read("/tree/src/m/b.txt"), "2\n");
    assert_eq!(view.read("/tree/src/m/n/c.txt"), "3\n");
    assert!(!view.path("/tree/src/m/n/skip.bin").exists());
    drop(view);
    env.assert_clean();
}
