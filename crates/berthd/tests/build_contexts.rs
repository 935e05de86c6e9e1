//! `berth build --build-context` against berthd: a directory context read by `COPY --from`
//! (sent inside the context tar, never part of the main context), a `docker-image://` context
//! standing in for a FROM, cache invalidation by a named context's files, and clear errors
//! for malformed flags. Results are checked by running the images.

mod common;

use std::process::Output;

use common::Daemon;

fn berth(d: &Daemon, args: &[&str]) -> Output {
    d.berth_cmd(args)
        // These tests read the classic builder's step lines ("Using cache"); berth's default is
        // BuildKit-style progress on stderr.
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("run berth")
}

/// `berth build ARGS`, asserting success; its stdout.
fn build_ok(d: &Daemon, args: &[&str]) -> String {
    let out = berth(d, &[&["build"], args].concat());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "berth build {args:?} failed: {}\n{stdout}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    stdout
}

/// A directory inside the daemon's temp dir, with `files` written into it.
fn dir_with(d: &Daemon, name: &str, files: &[(&str, &str)]) -> String {
    let dir = d.dir.path().join(name);
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir.to_string_lossy().into_owned()
}

#[test]
fn copy_from_a_directory_context_and_rebuild_when_its_file_changes() {
    let d = Daemon::start();
    let main = dir_with(
        &d,
        "main",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 COPY . /main/\n\
                 COPY --from=src greeting.txt /greeting.txt\n\
                 CMD [\"cat\", \"/greeting.txt\"]\n",
            ),
            ("main.txt", "main\n"),
        ],
    );
    let src = dir_with(
        &d,
        "src",
        &[
            ("greeting.txt", "hello from a named context\n"),
            (".dockerignore", "*.tmp\n"),
            ("scratch.tmp", "ignored\n"),
        ],
    );
    let flag = format!("src={src}");
    build_ok(&d, &["-t", "ctx7-copy", "--build-context", &flag, &main]);
    assert_eq!(
        d.ok(&["run", "--rm", "ctx7-copy"]),
        "hello from a named context"
    );
    // The main context is the main directory only: the bundled one never shows in it.
    assert_eq!(
        d.ok(&["run", "--rm", "ctx7-copy", "ls", "-1A", "/main"]),
        "Dockerfile\nmain.txt"
    );

    // Unchanged (an ignored file aside): both COPY steps come from the cache.
    std::fs::write(format!("{src}/scratch.tmp"), "changed but ignored\n").unwrap();
    let again = build_ok(&d, &["-t", "ctx7-copy", "--build-context", &flag, &main]);
    assert_eq!(again.matches("Using cache").count(), 2, "{again}");

    std::fs::write(format!("{src}/greeting.txt"), "changed greeting\n").unwrap();
    let changed = build_ok(&d, &["-t", "ctx7-copy", "--build-context", &flag, &main]);
    assert_eq!(changed.matches("Using cache").count(), 1, "{changed}");
    assert_eq!(d.ok(&["run", "--rm", "ctx7-copy"]), "changed greeting");
}

#[test]
fn an_image_context_replaces_the_image_a_from_names() {
    let d = Daemon::start();
    // No `alpine` in the store (and no registry is asked): the context supplies it.
    let main = dir_with(
        &d,
        "main",
        &[(
            "Dockerfile",
            "FROM alpine\nRUN echo built-on-busybox > /marker\nCMD [\"cat\", \"/marker\"]\n",
        )],
    );
    build_ok(
        &d,
        &[
            "-t",
            "ctx7-image",
            "--build-context",
            "alpine=docker-image://fixtures/busybox:1.35",
            &main,
        ],
    );
    assert_eq!(d.ok(&["run", "--rm", "ctx7-image"]), "built-on-busybox");
    let busybox = d.ok(&["run", "--rm", "ctx7-image", "readlink", "/bin/sh"]);
    assert!(busybox.contains("busybox"), "{busybox}");
}

#[test]
fn malformed_build_context_flags_are_refused_with_the_flag_named() {
    let d = Daemon::start();
    let main = dir_with(&d, "main", &[("Dockerfile", "FROM busybox\n")]);
    for (flag, needle) in [
        ("foo", "\"foo\" for \"--build-context\" flag"),
        ("=/tmp", "context name is empty"),
        ("x=docker-image://Not:A:Ref", "x=docker-image://Not:A:Ref"),
        (
            "x=https://example.com/repo.git",
            "git contexts are not supported",
        ),
        ("Bad=docker-image://busybox", "invalid context name \"Bad\""),
    ] {
        let out = berth(&d, &["build", "--build-context", flag, &main]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} was accepted");
        assert!(stderr.contains(needle), "{flag}: {stderr}");
    }
}
