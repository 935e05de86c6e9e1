//! `builder prune`: step records and cache mounts go (all of them with `-a`, else those not
//! backing an image layer), the freed space is reported and later builds redo the work.

mod engine_support;

use std::time::Duration;

use berth_build::engine::{PruneOptions, build, cache_usage, prune};
use engine_support::Env;

const DOCKERFILE: &str = "FROM fixtures/busybox:1.35 AS gen\n\
     RUN --mount=type=cache,target=/cache dd if=/dev/zero of=/cache/blob bs=1024 count=64 && \
     dd if=/dev/zero of=/made bs=1024 count=32\n\
     FROM fixtures/busybox:1.35\n\
     COPY --from=gen /made /copied\n";

fn mounts(env: &Env) -> usize {
    std::fs::read_dir(env.store.root().join("build-cache-mounts"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn prune_removes_records_and_cache_mounts_and_reports_the_space() {
    let env = Env::new();
    let opts = env.options(DOCKERFILE);
    let first = build(&env.store, &opts).unwrap();
    assert_eq!(first.runs_executed, 1);
    assert_eq!(mounts(&env), 1);

    // Too young for the filter: nothing goes.
    let young = prune(
        &env.store,
        &PruneOptions {
            all: true,
            older_than: Some(Duration::from_secs(3600)),
        },
    )
    .unwrap();
    assert!(young.deleted.is_empty(), "{young:?}");
    assert_eq!(build(&env.store, &opts).unwrap().runs_executed, 0);

    // Default: the RUN's record (its layer is in no image) and the cache mount go; the
    // COPY's record, backing the image's layer, stays.
    let report = prune(&env.store, &PruneOptions::default()).unwrap();
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    assert!(report.deleted.iter().any(|d| d.starts_with("mount:")));
    // The 64 KiB in the cache mount and the RUN's gzip layer blob at least.
    assert!(report.space_reclaimed > 64 * 1024, "{report:?}");
    assert_eq!(mounts(&env), 0);
    let again = build(&env.store, &opts).unwrap();
    assert_eq!((again.runs_executed, again.steps_cached), (1, 1));
    assert_eq!(again.image.id, first.image.id);

    // -a: everything, so the next build redoes every step.
    let all = prune(
        &env.store,
        &PruneOptions {
            all: true,
            older_than: None,
        },
    )
    .unwrap();
    // The COPY's record for other parents (see stage/rebase.rs) is one more.
    assert_eq!(all.deleted.len(), 4, "{all:?}");
    let cold = build(&env.store, &opts).unwrap();
    assert_eq!((cold.runs_executed, cold.steps_cached), (1, 0));
    env.assert_clean();
}

#[test]
fn a_cache_hit_counts_as_a_use() {
    let env = Env::new();
    let opts = env.options(DOCKERFILE);
    build(&env.store, &opts).unwrap();
    let last_used = |env: &Env| {
        let mut records: Vec<_> = cache_usage(&env.store)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "regular")
            .map(|r| (r.id, r.last_used))
            .collect();
        records.sort();
        records
    };
    let before = last_used(&env);
    assert!(!before.is_empty());
    std::thread::sleep(Duration::from_millis(50));
    let cached = build(&env.store, &opts).unwrap();
    assert_eq!(cached.runs_executed, 0);
    let after = last_used(&env);
    assert_eq!(before.len(), after.len());
    for ((id, was), (_, now)) in before.iter().zip(&after) {
        assert!(now > was, "record {id} was used but still says {now:?}");
    }
    env.assert_clean();
}
