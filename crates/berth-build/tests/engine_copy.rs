//! COPY/ADD from the context: .dockerignore, wildcards, directory semantics, --chown by name
//! through the image's /etc/passwd, --chmod, and ADD extracting a local tar.

mod engine_support;

use std::os::unix::fs::MetadataExt;

use engine_support::Env;

#[test]
fn copy_applies_dockerignore_wildcards_chown_and_chmod() {
    let env = Env::new();
    env.write(&[
        (".dockerignore", "*.key\nlogs\n!logs/keep.log\n"),
        ("a.txt", "a\n"),
        ("b.txt", "b\n"),
        ("secret.key", "no\n"),
        ("logs/x.log", "no\n"),
        ("logs/keep.log", "kept\n"),
        ("dir/nested/n.txt", "n\n"),
    ]);
    // A tar to ADD: built with the tar crate into the context.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o640);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_600_000_000);
    header.set_cksum();
    tar.append_data(&mut header, "inside/t.txt", &b"tt\n"[..])
        .unwrap();
    std::fs::write(env.context().join("bundle.tar"), tar.into_inner().unwrap()).unwrap();

    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         RUN echo 'app:x:1234:2345::/home/app:/bin/sh' >> /etc/passwd && echo 'appgrp:x:2345:' >> /etc/group\n\
         COPY . /ctx/\n\
         COPY *.txt /txt/\n\
         COPY dir /flat\n\
         COPY --chown=app:appgrp --chmod=0600 a.txt /owned/a\n\
         COPY --chown=42 b.txt /owned/b\n\
         ADD bundle.tar /unpacked/\n",
    );
    {
        let view = env.view(&result);
        assert_eq!(view.read("/ctx/a.txt"), "a\n");
        assert!(!view.path("/ctx/secret.key").exists());
        assert!(!view.path("/ctx/logs/x.log").exists());
        assert_eq!(view.read("/ctx/logs/keep.log"), "kept\n");
        // Context files belong to root.
        assert_eq!(std::fs::metadata(view.path("/ctx/a.txt")).unwrap().uid(), 0);
        assert_eq!(view.read("/txt/a.txt"), "a\n");
        assert_eq!(view.read("/txt/b.txt"), "b\n");
        // A directory source copies its contents, not the directory itself.
        assert_eq!(view.read("/flat/nested/n.txt"), "n\n");
        assert!(!view.path("/flat/dir").exists());
        let owned = std::fs::metadata(view.path("/owned/a")).unwrap();
        assert_eq!((owned.uid(), owned.gid()), (1234, 2345));
        assert_eq!(owned.mode() & 0o7777, 0o600);
        let b = std::fs::metadata(view.path("/owned/b")).unwrap();
        assert_eq!((b.uid(), b.gid()), (42, 42));
        assert_eq!(view.read("/unpacked/inside/t.txt"), "tt\n");
        assert!(!view.path("/unpacked/bundle.tar").exists());
    }
    env.assert_clean();
}

#[test]
fn copy_errors_name_the_line_and_source() {
    let env = Env::new();
    let opts = env.options("FROM fixtures/busybox:1.35\nCOPY missing.txt /x\n");
    let err = berth_build::engine::build(&env.store, &opts).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("Dockerfile:2: COPY: source \"missing.txt\""),
        "{text}"
    );
    let opts = env.options("FROM fixtures/busybox:1.35\nCOPY Dockerfile Dockerfile /x\n");
    let err = berth_build::engine::build(&env.store, &opts).unwrap_err();
    assert!(err.to_string().contains("must end with /"), "{err}");
    let opts = env.options("FROM fixtures/busybox:1.35\nCOPY --chown=nobody Dockerfile /x\n");
    let err = berth_build::engine::build(&env.store, &opts).unwrap_err();
    assert!(
        err.to_string().contains("user \"nobody\" not found"),
        "{err}"
    );
    env.assert_clean();
}

/// A destination that exists is replaced (a file, and a symlink met inside a copied
/// directory, which is not followed);
/// setuid survives `--chown`; mtimes are the source's, to the nanosecond.
#[test]
fn copy_replaces_what_is_there_and_keeps_mode_bits_and_mtimes() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.write(&[
        ("tool", "#!/bin/sh\n"),
        ("new", "new\n"),
        ("dir/y", "new\n"),
    ]);
    let tool = env.context().join("tool");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let mtime = rustix::fs::Timespec {
        tv_sec: 1_600_000_000,
        tv_nsec: 123_456_789,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        &tool,
        &rustix::fs::Timestamps {
            last_access: mtime,
            last_modification: mtime,
        },
        rustix::fs::AtFlags::empty(),
    )
    .unwrap();
    let result = env.build(
        "FROM fixtures/busybox:1.35\n\
         RUN echo old > /x && mkdir /d && ln -s /etc/passwd /d/y\n\
         COPY new /x\n\
         COPY dir/ /d/\n\
         COPY --chown=7:8 tool /bin/tool\n",
    );
    {
        let view = env.view(&result);
        assert_eq!(view.read("/x"), "new\n");
        let y = std::fs::symlink_metadata(view.path("/d/y")).unwrap();
        assert!(
            y.file_type().is_file(),
            "the symlink was replaced, not followed"
        );
        assert_eq!(view.read("/d/y"), "new\n");
        assert!(view.read("/etc/passwd").starts_with("root:"));
        let tool = std::fs::metadata(view.path("/bin/tool")).unwrap();
        assert_eq!(
            (tool.uid(), tool.gid(), tool.mode() & 0o7777),
            (7, 8, 0o4755)
        );
        assert_eq!(
            (tool.mtime(), tool.mtime_nsec()),
            (1_600_000_000, 123_456_789)
        );
    }
    env.assert_clean();
}
