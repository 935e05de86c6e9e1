//! A build syncs its layers once, at its end (`Store::sync_pending`): what it built, and the
//! cache of a build that failed part-way, is on disk for the next daemon.

mod engine_support;

use berth_store::Store;
use engine_support::Env;

const TWO_STAGES: &str = "FROM fixtures/busybox:1.35 AS gen\n\
                          RUN mkdir /out && echo made > /out/f\n\
                          FROM fixtures/busybox:1.35\n\
                          COPY --from=gen /out /app/\n";

/// The same store as a restarted daemon sees it.
fn reopened(env: &mut Env) -> &Store {
    let root = env.dir.path().join("store");
    env.store = Store::open(&root).expect("reopen store");
    &env.store
}

#[test]
fn a_built_image_and_its_cache_survive_a_reopen() {
    let mut env = Env::new();
    let first = env.build(TWO_STAGES);
    assert_eq!(first.runs_executed, 1);
    let on_disk =
        std::fs::read_to_string(env.dir.path().join("store/snapshots/index.json")).unwrap();
    let chain = first.image.chain_id.clone().expect("a chain");
    assert!(on_disk.contains(&chain.to_string()), "{on_disk}");
    let store = reopened(&mut env);
    assert!(store.snapshots.has_layer(&chain));
    assert!(store.snapshots.not_durable().is_empty());
    let again = env.build(TWO_STAGES);
    assert_eq!((again.runs_executed, again.image.id), (0, first.image.id));
    env.assert_clean();
}

#[test]
fn the_steps_before_a_failure_stay_cached() {
    let mut env = Env::new();
    let failing = "FROM fixtures/busybox:1.35\nRUN echo kept > /kept\nRUN exit 3\n";
    let error = berth_build::engine::build(&env.store, &env.options(failing))
        .map(|r| r.image.id)
        .expect_err("the second RUN fails");
    assert!(error.to_string().contains("3"), "{error}");
    assert!(env.store.snapshots.not_durable().is_empty());
    reopened(&mut env);
    let fixed = env.build("FROM fixtures/busybox:1.35\nRUN echo kept > /kept\nRUN true\n");
    assert_eq!(fixed.runs_executed, 1, "the first RUN came from the cache");
    env.assert_clean();
}
