//! `COPY --from` a stage into a new directory hardlinks each regular file from the layer that
//! holds it, and only when the layer is then exactly what copying makes: other modes, owners,
//! xattrs, shared inodes and context files are copied.

mod engine_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_build::engine::{BuildOptions, BuildResult, build};
use berth_store::snapshot::chain_ids;
use engine_support::Env;

const GEN: &str = "FROM fixtures/busybox:1.35 AS gen\n\
     WORKDIR /work\n\
     RUN mkdir out && for i in $(seq 20); do echo $i > out/f$i; done\n";

fn run(env: &Env, opts: &BuildOptions) -> BuildResult {
    build(&env.store, opts).unwrap_or_else(|e| panic!("build failed: {e} ({e:?})"))
}

/// Builds only stage `gen` of `dockerfile` (so a full build later finds it cached) and
/// returns its layer dirs, top first.
fn gen_layers(env: &Env, dockerfile: &str) -> Vec<PathBuf> {
    let mut opts = env.options(dockerfile);
    opts.target = Some("gen".to_string());
    layer_dirs(env, &run(env, &opts))
}

/// The image's layer dirs, top first.
fn layer_dirs(env: &Env, result: &BuildResult) -> Vec<PathBuf> {
    let diff_ids: Vec<_> = result
        .image
        .layers
        .iter()
        .map(|l| l.diff_id.clone())
        .collect();
    let top = chain_ids(&diff_ids).pop().unwrap();
    env.store.snapshots.layer_dirs(&top).unwrap()
}

/// Every entry of the image's top layer blob: header fields and contents, with directory
/// mtimes left out (the directories a COPY makes get the build's current time, so two builds
/// in different seconds differ there and nowhere else).
fn top_layer_entries(env: &Env, result: &BuildResult) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    use std::io::Read;
    let mut archive = env.layer_archive(result, result.image.layers.len() - 1);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut header = entry.header().clone();
            if header.entry_type().is_dir() {
                header.set_mtime(0);
                header.set_cksum();
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (path, header.as_bytes().to_vec(), data)
        })
        .collect()
}

fn meta(path: &Path) -> fs::Metadata {
    fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn copy_from_a_stage_links_its_files_and_makes_the_layer_a_copy_makes() {
    let env = Env::new();
    let gen_top = gen_layers(&env, GEN)[0].clone();
    let copy = |flags: &str| {
        let result = run(
            &env,
            &env.options(&format!(
                "{GEN}FROM fixtures/busybox:1.35\n\
                 WORKDIR /app\n\
                 COPY {flags} --from=gen /work/out /app/gen/\n"
            )),
        );
        let top = layer_dirs(&env, &result)[0].clone();
        (result, top)
    };
    let (linked, linked_top) = copy("");
    assert_eq!(linked.copies_direct, 1);
    assert_eq!(linked.runs_executed, 0, "stage gen is the cached one");
    for i in [1, 7, 20] {
        let source = meta(&gen_top.join(format!("work/out/f{i}")));
        let made = meta(&linked_top.join(format!("app/gen/f{i}")));
        assert_eq!(made.ino(), source.ino(), "f{i}: linked from gen's layer");
        assert_eq!(made.nlink(), 2, "f{i}");
    }
    // A named --chown is resolved in the rootfs, so this COPY goes through an overlay mount
    // where nothing can be linked: the files (all 0:0 already) are copied. Its layer holds the
    // same entries: same names, modes, owners, mtimes and contents, and the linked files
    // written in full (no hardlink entries); only the new directories' mtimes are the time
    // of each build.
    let (copied, _) = copy("--chown=root:root");
    assert_eq!(copied.copies_direct, 0);
    assert_eq!(
        top_layer_entries(&env, &linked),
        top_layer_entries(&env, &copied)
    );
    {
        let view = env.view(&linked);
        assert_eq!(view.read("/app/gen/f7"), "7\n");
    }
    env.assert_clean();
}

#[test]
fn files_a_link_would_change_are_copied() {
    let env = Env::new();
    env.write(&[("files/c", "context\n")]);
    let stage = "FROM fixtures/busybox:1.35 AS gen\n\
         RUN mkdir /out && cd /out \
         && for f in plain kept mode same-mode owner same-owner twice xattr; do echo $f > $f; done \
         && chown 5:6 kept && ln twice twice-too\n";
    let gen_top = gen_layers(&env, stage)[0].clone();
    let gen_file = |name: &str| gen_top.join("out").join(name);
    assert_eq!(meta(&gen_file("same-mode")).mode() & 0o7777, 0o644);
    // An xattr on the layer file itself (busybox has no setfattr).
    rustix::fs::setxattr(
        gen_file("xattr"),
        "user.x",
        b"1",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("user xattrs on the store's filesystem");

    let result = run(
        &env,
        &env.options(&format!(
            "{stage}FROM fixtures/busybox:1.35\n\
             COPY --from=gen /out/plain /t/plain/\n\
             COPY --from=gen /out/kept /t/kept/\n\
             COPY --from=gen --chmod=600 /out/mode /t/mode/\n\
             COPY --from=gen --chmod=644 /out/same-mode /t/same-mode/\n\
             COPY --from=gen --chown=7:8 /out/owner /t/owner/\n\
             COPY --from=gen --chown=0:0 /out/same-owner /t/same-owner/\n\
             COPY --from=gen /out/twice /t/twice/\n\
             COPY --from=gen /out/xattr /t/xattr/\n\
             COPY files/ /t/ctx/\n"
        )),
    );
    assert_eq!(result.runs_executed, 0);
    assert_eq!(
        result.copies_direct, 9,
        "every COPY writes its layer directly"
    );
    let layers = layer_dirs(&env, &result);
    let made = |dir: &str, name: &str| {
        let rel = format!("t/{dir}/{name}");
        let layer = layers
            .iter()
            .find(|l| l.join(&rel).exists())
            .unwrap_or_else(|| panic!("no layer has {rel}"));
        meta(&layer.join(rel))
    };
    let linked = |name: &str| made(name, name).ino() == meta(&gen_file(name)).ino();
    for name in ["plain", "kept", "same-mode", "same-owner"] {
        assert!(linked(name), "{name}: linked");
    }
    assert_eq!(
        (made("kept", "kept").uid(), made("kept", "kept").gid()),
        (5, 6)
    );
    for name in ["mode", "owner", "twice", "xattr"] {
        assert!(!linked(name), "{name}: copied");
        assert_eq!(made(name, name).nlink(), 1, "{name}");
    }
    assert_eq!(
        meta(&gen_file("twice")).nlink(),
        2,
        "twice: still only its two names"
    );
    assert_eq!(made("mode", "mode").mode() & 0o7777, 0o600);
    let owner = made("owner", "owner");
    assert_eq!((owner.uid(), owner.gid()), (7, 8));
    let xattrs = rustix::fs::listxattr_query(layers[1].join("t/xattr/xattr")).unwrap();
    assert_eq!(xattrs, 0, "the copy carries no xattr");
    let context = meta(&env.context().join("files/c"));
    assert_ne!(
        made("ctx", "c").ino(),
        context.ino(),
        "a context file is copied"
    );
    assert_eq!(context.nlink(), 1);
    {
        let view = env.view(&result);
        for name in ["plain", "mode", "owner", "twice", "xattr"] {
            assert_eq!(view.read(&format!("/t/{name}/{name}")), format!("{name}\n"));
        }
        assert_eq!(view.read("/t/ctx/c"), "context\n");
    }
    env.assert_clean();
}

#[test]
fn writing_a_linked_file_later_leaves_the_source_layer_alone() {
    let env = Env::new();
    let stage = "FROM fixtures/busybox:1.35 AS gen\n\
         RUN mkdir -p /out/a /out/b && echo a > /out/a/f && echo b > /out/b/f\n";
    let gen_top = gen_layers(&env, stage)[0].clone();
    let result = run(
        &env,
        &env.options(&format!(
            "{stage}FROM fixtures/busybox:1.35\n\
             COPY --from=gen /out/a/f /out/b/f /dst/\n\
             RUN echo x >> /dst/f\n"
        )),
    );
    assert_eq!(result.copies_direct, 1);
    // Both sources land on /dst/f: the second replaces the first (a link to a/f) and never
    // writes through it.
    assert_eq!(fs::read_to_string(gen_top.join("out/a/f")).unwrap(), "a\n");
    assert_eq!(fs::read_to_string(gen_top.join("out/b/f")).unwrap(), "b\n");
    assert_eq!(meta(&gen_top.join("out/a/f")).nlink(), 1);
    let layers = layer_dirs(&env, &result);
    let copied = layers[1].join("dst/f");
    assert_eq!(meta(&copied).ino(), meta(&gen_top.join("out/b/f")).ino());
    assert_eq!(fs::read_to_string(&copied).unwrap(), "b\n");
    // The RUN's append went to its own layer.
    assert_eq!(
        fs::read_to_string(layers[0].join("dst/f")).unwrap(),
        "b\nx\n"
    );
    {
        let view = env.view(&result);
        assert_eq!(view.read("/dst/f"), "b\nx\n");
    }
    env.assert_clean();
}

#[test]
fn the_file_comes_from_the_topmost_layer_and_never_through_a_lower_symlink() {
    let env = Env::new();
    // /work is a symlink to /etc in a lower layer and a directory above it; /d/f is in two
    // layers, the upper one is visible.
    let stage = "FROM fixtures/busybox:1.35 AS gen\n\
         RUN ln -s /etc /work && mkdir /d && echo old > /d/f\n\
         RUN rm /work && mkdir /work && echo mine > /work/passwd && rm /d/f && echo new > /d/f\n";
    let gen_dirs = gen_layers(&env, stage);
    let (upper, lower) = (&gen_dirs[0], &gen_dirs[1]);
    assert!(meta(&lower.join("work")).is_symlink());
    assert!(lower.join("d/f").exists());
    let result = run(
        &env,
        &env.options(&format!(
            "{stage}FROM fixtures/busybox:1.35\n\
             COPY --from=gen /work/passwd /d/f /x/\n"
        )),
    );
    assert_eq!(result.copies_direct, 1);
    let top = layer_dirs(&env, &result)[0].clone();
    let passwd = meta(&top.join("x/passwd"));
    assert_eq!(passwd.ino(), meta(&upper.join("work/passwd")).ino());
    assert_ne!(passwd.ino(), meta(Path::new("/etc/passwd")).ino());
    assert_eq!(meta(&top.join("x/f")).ino(), meta(&upper.join("d/f")).ino());
    assert_eq!(fs::read_to_string(top.join("x/passwd")).unwrap(), "mine\n");
    assert_eq!(fs::read_to_string(top.join("x/f")).unwrap(), "new\n");
    env.assert_clean();
}
