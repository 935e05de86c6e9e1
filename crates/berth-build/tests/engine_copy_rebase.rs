//! A plain COPY into a destination the parent lacks makes a layer that does not depend on
//! the layers below (beyond the destination's ancestors): when only an earlier step changed,
//! the recorded layer is reused on the new parent instead of copying again — and only then.

mod engine_support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use berth_build::engine::{BuildOptions, BuildResult, build};
use berth_store::snapshot::chain_ids;
use engine_support::Env;

/// The bench's shape: a generated tree copied from another stage after a context COPY.
const TWO_STAGES: &str = "FROM fixtures/busybox:1.35 AS gen\n\
     WORKDIR /work\n\
     RUN mkdir out && for i in $(seq 40); do echo $i > out/f$i; done\n\
     FROM fixtures/busybox:1.35\n\
     LABEL bench=build\n\
     WORKDIR /app\n\
     COPY files/ /app/files/\n\
     COPY --from=gen /work/out /app/gen/\n\
     ENV APP=1\n\
     CMD [\"sh\"]\n";

fn run(env: &Env, opts: &BuildOptions) -> BuildResult {
    build(&env.store, opts).unwrap_or_else(|e| panic!("build failed: {e} ({e:?})"))
}

#[test]
fn a_copy_after_a_changed_copy_reuses_its_layer_as_a_full_rerun_would_make_it() {
    let env = Env::new();
    env.write(&[("files/a.bin", "a\n"), ("files/b.bin", "b\n")]);
    let mut opts = env.options(TWO_STAGES);
    // Clamped mtimes make a re-run's layers byte-identical: the oracle below is exact.
    opts.source_date_epoch = Some(1_700_000_000);
    let first = run(&env, &opts);
    let gen_layer = first.image.layers.last().unwrap().clone();

    env.write(&[("files/a.bin", "a changed\n")]);
    let second = run(&env, &opts);
    assert_eq!(second.runs_executed, 0);
    assert_eq!(second.layers_created, 1, "only COPY files/ makes a layer");
    // gen's WORKDIR and RUN, this stage's WORKDIR, and the COPY --from on the new parent.
    assert_eq!(second.steps_cached, 4);
    assert_eq!(
        second.image.layers.last().unwrap().diff_id,
        gen_layer.diff_id
    );

    // A --no-cache build makes exactly the same image: layers, config and history.
    let mut fresh = opts.clone();
    fresh.no_cache = true;
    let full = run(&env, &fresh);
    assert_eq!(full.steps_cached, 0);
    let diff_ids =
        |r: &BuildResult| -> Vec<_> { r.image.layers.iter().map(|l| l.diff_id.clone()).collect() };
    assert_eq!(diff_ids(&second), diff_ids(&full));
    assert_eq!(env.config(&second), env.config(&full));
    assert_eq!(second.image.id, full.image.id);
    {
        let view = env.view(&second);
        assert_eq!(view.read("/app/files/a.bin"), "a changed\n");
        assert_eq!(view.read("/app/gen/f40"), "40\n");
    }
    env.assert_clean();
}

#[test]
fn a_reused_layer_gives_the_same_filesystem_as_a_no_cache_build() {
    let env = Env::new();
    env.write(&[("files/a.bin", "a\n"), ("files/sub/b.bin", "b\n")]);
    let opts = env.options(TWO_STAGES);
    let first = run(&env, &opts);
    env.write(&[("files/sub/b.bin", "b changed\n")]);
    let second = run(&env, &opts);
    assert_eq!(second.layers_created, 1);
    assert_eq!(second.steps_cached, 4);
    // The snapshot on the new parent is the first one's directory (nothing unpacked).
    let top_dir = |r: &BuildResult| {
        let diff_ids: Vec<_> = r.image.layers.iter().map(|l| l.diff_id.clone()).collect();
        let top = chain_ids(&diff_ids).pop().unwrap();
        env.store.snapshots.layer_dirs(&top).unwrap()
    };
    let (first_dirs, second_dirs) = (top_dir(&first), top_dir(&second));
    assert_eq!(first_dirs[0], second_dirs[0]);
    assert_ne!(first_dirs[1], second_dirs[1], "on another parent");

    let mut fresh = opts.clone();
    fresh.no_cache = true;
    let full = run(&env, &fresh);
    let reused = tree_of(&env, &second);
    assert_eq!(reused, tree_of(&env, &full));
    assert_eq!(reused["app/gen/f7"], "file 644 0:0 7\n");
    assert!(reused["app/gen"].starts_with("dir 755 0:0"));
    let history = |r: &BuildResult| -> Vec<String> {
        env.config(r)["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["created_by"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(history(&second), history(&full));
    assert_eq!(env.config(&second)["config"], env.config(&full)["config"]);
    env.assert_clean();
}

/// A base step that varies, then the COPY under test. The first build records the COPY's
/// layer over `/srv` made 0755 by root.
fn with_base(base: &str) -> String {
    format!(
        "FROM fixtures/busybox:1.35\n\
         RUN {base}\n\
         COPY d/ /srv/d/\n"
    )
}

#[test]
fn the_layer_is_reused_only_when_the_parent_facts_match() {
    let env = Env::new();
    env.write(&[("d/x.txt", "x\n")]);
    run(&env, &env.options(&with_base("mkdir -m 755 /srv")));

    let rebuilt = |base: &str| {
        let result = run(&env, &env.options(&with_base(base)));
        assert_eq!(result.runs_executed, 1, "{base}: the base step runs");
        result
    };
    // Another parent, same facts on the destination's path: reused.
    let same = rebuilt("mkdir -m 755 /srv && echo other > /other");
    assert_eq!(same.steps_cached, 1, "same facts: the COPY layer is reused");
    assert_eq!(same.layers_created, 1);

    // The destination exists in the parent: the copy merges into it.
    let dest = rebuilt("mkdir -p -m 755 /srv/d && echo old > /srv/d/old.txt");
    assert_eq!(dest.steps_cached, 0, "the destination exists: copied again");
    assert_eq!(dest.layers_created, 2);
    {
        let view = env.view(&dest);
        assert_eq!(view.read("/srv/d/old.txt"), "old\n");
        assert_eq!(view.read("/srv/d/x.txt"), "x\n");
    }

    // A symlink on the path: the copy lands where it points.
    let link = rebuilt("mkdir -m 755 /elsewhere && ln -s /elsewhere /srv");
    assert_eq!(link.steps_cached, 0, "a symlink on the path: copied again");
    {
        let view = env.view(&link);
        assert_eq!(view.read("/elsewhere/d/x.txt"), "x\n");
        assert!(
            fs::symlink_metadata(view.path("/srv"))
                .unwrap()
                .is_symlink()
        );
    }

    // An ancestor with another mode, or another owner: copied again, and the layer keeps it.
    for (base, mode, owner) in [
        ("mkdir -m 700 /srv", 0o700, (0, 0)),
        ("mkdir -m 755 /srv && chown 7:8 /srv", 0o755, (7, 8)),
    ] {
        let result = rebuilt(base);
        assert_eq!(result.steps_cached, 0, "{base}: copied again");
        assert_eq!(result.layers_created, 2);
        let view = env.view(&result);
        let meta = fs::metadata(view.path("/srv")).unwrap();
        assert_eq!(meta.mode() & 0o7777, mode, "{base}");
        assert_eq!((meta.uid(), meta.gid()), owner, "{base}");
        assert_eq!(view.read("/srv/d/x.txt"), "x\n");
    }
    env.assert_clean();
}

#[test]
fn a_destination_deleted_below_is_not_a_clean_absence() {
    let env = Env::new();
    env.write(&[("d/x.txt", "x\n")]);
    let clean = "FROM fixtures/busybox:1.35\n\
                 RUN mkdir -m 755 /srv\n\
                 RUN true > /marker\n\
                 COPY d/ /srv/d/\n";
    run(&env, &env.options(clean));
    // Same ancestors, but an older layer had /srv/d and a later one deleted it: overlayfs
    // makes the new directory opaque, so the recorded layer does not fit.
    let deleted = "FROM fixtures/busybox:1.35\n\
                   RUN mkdir -m 755 /srv && mkdir /srv/d && echo old > /srv/d/old.txt\n\
                   RUN rm -rf /srv/d\n\
                   COPY d/ /srv/d/\n";
    let result = run(&env, &env.options(deleted));
    assert_eq!(result.runs_executed, 2);
    assert_eq!(
        result.steps_cached, 0,
        "a whiteout on the path: copied again"
    );
    assert_eq!(result.layers_created, 3);
    {
        let view = env.view(&result);
        assert_eq!(view.read("/srv/d/x.txt"), "x\n");
        assert!(!view.path("/srv/d/old.txt").exists());
    }
    env.assert_clean();
}

/// Every entry of the image's flattened filesystem: type, mode, owner and content or link
/// target (not mtimes: a --no-cache build re-runs RUN steps at another time).
fn tree_of(env: &Env, result: &BuildResult) -> BTreeMap<String, String> {
    let view = env.view(result);
    let mut out = BTreeMap::new();
    walk(view.root(), view.root(), &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let owner = format!("{:o} {}:{}", meta.mode() & 0o7777, meta.uid(), meta.gid());
        let text = if meta.is_dir() {
            walk(root, &path, out);
            format!("dir {owner}")
        } else if meta.file_type().is_symlink() {
            format!("link {owner} {}", fs::read_link(&path).unwrap().display())
        } else {
            format!(
                "file {owner} {}",
                String::from_utf8_lossy(&fs::read(&path).unwrap())
            )
        };
        out.insert(rel, text);
    }
}

/// A qualifying COPY writes its upper dir itself (no overlay mount); the layer must be the one
/// overlayfs gives. A numeric --chown qualifies, a named one (read from /etc/passwd) does not:
/// with the same owner and clamped times both layers must be byte-identical — including the
/// copied-up ancestors' modes, owners and times (/a keeps the parent's 2020 mtime, /a/b
/// gets the copy's).
#[test]
fn a_direct_copy_makes_the_layer_overlayfs_makes() {
    let env = Env::new();
    env.write(&[("d/x.txt", "x\n"), ("d/sub/y.txt", "y\n")]);
    let layer_of = |chown: &str, dest: &str| {
        let mut opts = env.options(&format!(
            "FROM fixtures/busybox:1.35 AS gen\n\
             RUN mkdir -p /out/deep && echo made > /out/deep/m && chown -R 5:6 /out\n\
             FROM fixtures/busybox:1.35\n\
             RUN mkdir -p /a/b && touch -t 202009131226 /a/b /a\n\
             COPY --chown={chown} d/ {dest}\n\
             COPY --from=gen /out {dest}gen/\n"
        ));
        opts.source_date_epoch = Some(1_700_000_000);
        opts.no_cache = true;
        let result = run(&env, &opts);
        let layers = &result.image.layers;
        let n = layers.len();
        (
            result.copies_direct,
            layers[n - 2].diff_id.clone(),
            layers[n - 1].diff_id.clone(),
        )
    };
    for dest in ["/a/b/new/", "/top/", "/etc/x/y/"] {
        let (direct, first, second) = layer_of("0:0", dest);
        assert_eq!(direct, 2, "{dest}: both copies are direct");
        let (overlay, first_o, second_o) = layer_of("root:root", dest);
        assert_eq!(overlay, 1, "{dest}: a named --chown goes through overlayfs");
        assert_eq!(first, first_o, "{dest}: the COPY's layer");
        assert_eq!(second, second_o, "{dest}: the COPY --from's layer");
    }
    env.assert_clean();
}
