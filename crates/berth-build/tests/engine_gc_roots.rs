//! Build cache records are GC roots of the store: `rmi` and image prune keep the layers the
//! records point at (the intermediate stage's too), so rebuilds still hit the cache; after
//! `builder prune -a` the same collection takes them.

mod engine_support;

use berth_build::engine::{PruneOptions, build, prune};
use berth_store::images::NoUsers;
use engine_support::Env;

const DOCKERFILE: &str = "FROM fixtures/busybox:1.35 AS gen\n\
     RUN echo generated > /made\n\
     FROM fixtures/busybox:1.35\n\
     COPY --from=gen /made /copied\n";

const TAG: &str = "build7-gc-roots:latest";

#[test]
fn image_removal_and_prune_keep_what_cache_records_reference() {
    let env = Env::new();
    let mut opts = env.options(DOCKERFILE);
    opts.tags = vec![TAG.to_string()];
    let first = build(&env.store, &opts).unwrap();
    assert_eq!((first.runs_executed, first.steps_cached), (1, 0));
    let layers_before = env.store.snapshots.index().layers.len();

    // `docker rmi` of the result, then `docker image prune`: only busybox is an image now.
    env.store.remove_image(TAG, false, &NoUsers).unwrap();
    let (_, report) = env.store.prune_images(false, &NoUsers).unwrap();
    assert!(report.layers_removed.is_empty(), "{report:?}");
    assert!(
        report
            .blobs_removed
            .iter()
            .all(|d| Some(d) != first.image.layers.last().map(|l| &l.digest))
    );
    assert_eq!(env.store.snapshots.index().layers.len(), layers_before);

    // Every step still hits the cache, the intermediate stage's RUN included.
    let again = build(&env.store, &opts).unwrap();
    assert_eq!((again.runs_executed, again.steps_cached), (0, 2));
    assert_eq!(again.image.id, first.image.id);
    let view = env.view(&again);
    assert_eq!(view.read("copied"), "generated\n");
    drop(view);

    // A root whose record is gone (a build that died between the two writes) keeps a layer
    // no one can use: prune drops it too.
    let orphan = berth_store::GcRoots {
        blobs: [first.image.layers.last().unwrap().digest.clone()].into(),
        layers: Default::default(),
    };
    env.store
        .put_gc_root("build-cache", "orphan", &orphan)
        .unwrap();

    // `builder prune -a` drops the records and their roots; the collection after an rmi then
    // takes the layers no image needs (the RUN's of the gen stage and the COPY's).
    let pruned = prune(
        &env.store,
        &PruneOptions {
            all: true,
            older_than: None,
        },
    )
    .unwrap();
    // The RUN's record, the COPY's, and the COPY's record for other parents.
    assert_eq!(pruned.deleted.len(), 3, "{pruned:?}");
    assert!(env.store.gc_root_names("build-cache").unwrap().is_empty());
    env.store.remove_image(TAG, false, &NoUsers).unwrap();
    assert_eq!(
        env.store.snapshots.index().layers.len(),
        layers_before - 2,
        "the gen stage's and the COPY's layers go once no record holds them"
    );
    let cold = build(&env.store, &opts).unwrap();
    assert_eq!((cold.runs_executed, cold.steps_cached), (1, 0));
    env.assert_clean();
}
