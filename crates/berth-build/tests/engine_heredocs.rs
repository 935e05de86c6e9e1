//! Heredocs executed: `RUN <<EOF` as the command, `#!` bodies as scripts, heredocs the shell
//! reads, `COPY <<EOF` files with variables expanded unless the delimiter is quoted.

mod engine_support;

use std::os::unix::fs::MetadataExt;

use berth_build::engine::{BuildError, build};
use engine_support::Env;

#[test]
fn run_heredocs_as_command_script_and_shell_input() {
    let env = Env::new();
    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         RUN <<EOF\n\
         echo one > /one\n\
         echo two >> /one\n\
         EOF\n\
         RUN <<-'SCRIPT'\n\
         \t#!/bin/sh\n\
         \techo \"script $0\" > /script-ran\n\
         \tSCRIPT\n\
         RUN cat <<A > /a && cat <<\"B\" > /b\n\
         first\n\
         A\n\
         literal $HOME\n\
         B\n",
    );
    assert_eq!(result.runs_executed, 3);
    let view = env.view(&result);
    assert_eq!(view.read("/one"), "one\ntwo\n");
    assert_eq!(view.read("/script-ran"), "script /dev/pipes/SCRIPT\n");
    assert_eq!(view.read("/a"), "first\n");
    assert_eq!(view.read("/b"), "literal $HOME\n");
    // The script's mount point lived in the step's /dev tmpfs, not in a layer.
    assert!(!view.path("/dev/pipes").exists());
    drop(view);
    env.assert_clean();
}

#[test]
fn copy_heredocs_expand_unless_quoted_and_take_chmod() {
    let env = Env::new();
    let mut opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         ARG WHO\n\
         ENV GREETING=hello\n\
         COPY <<EOF /greeting\n\
         $GREETING from ${WHO}\n\
         EOF\n\
         COPY <<'RAW' <<EOF2 /files/\n\
         $GREETING\n\
         RAW\n\
         second\n\
         EOF2\n\
         COPY --chmod=0755 <<-EOF /bin/hello.sh\n\
         \t#!/bin/sh\n\
         \techo hi\n\
         \tEOF\n\
         RUN /bin/hello.sh > /hello.out\n",
    );
    opts.build_args.insert("WHO".into(), "the-cli".into());
    let result = build(&env.store, &opts).unwrap();
    {
        let view = env.view(&result);
        assert_eq!(view.read("/greeting"), "hello from the-cli\n");
        assert_eq!(view.read("/files/RAW"), "$GREETING\n");
        assert_eq!(view.read("/files/EOF2"), "second\n");
        let script = std::fs::metadata(view.path("/bin/hello.sh")).unwrap();
        assert_eq!(script.mode() & 0o7777, 0o755);
        assert_eq!(view.read("/hello.out"), "hi\n");
        let greeting = std::fs::metadata(view.path("/greeting")).unwrap();
        assert_eq!(greeting.mode() & 0o7777, 0o644);
    }
    // A different build arg changes the expanded file: the COPY is not taken from the cache.
    let cached = build(&env.store, &opts).unwrap();
    assert_eq!(cached.image.id, result.image.id);
    opts.build_args.insert("WHO".into(), "someone-else".into());
    let changed = build(&env.store, &opts).unwrap();
    assert_ne!(changed.image.id, result.image.id);
    let view = env.view(&changed);
    assert_eq!(view.read("/greeting"), "hello from someone-else\n");
    drop(view);
    env.assert_clean();
}

#[test]
fn heredoc_errors_name_the_line() {
    let env = Env::new();
    let opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         COPY <<EOF <<EOF2 /not-a-dir\n\
         a\n\
         EOF\n\
         b\n\
         EOF2\n",
    );
    let err = build(&env.store, &opts).unwrap_err();
    assert!(
        matches!(err.cause(), BuildError::DestNotDir { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("Dockerfile:2: COPY"), "{err}");
    env.assert_clean();
}
