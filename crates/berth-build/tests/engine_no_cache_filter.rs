//! `--no-cache-filter`: the named stages' steps run again, the others keep their cache; what
//! reads a re-run stage sees its new content; a later build without the filter is unchanged.

mod engine_support;

use berth_build::engine::build;
use engine_support::Env;

const DOCKERFILE: &str = "FROM fixtures/busybox:1.35 AS gen\n\
     RUN cat /proc/sys/kernel/random/uuid > /id\n\
     FROM fixtures/busybox:1.35\n\
     RUN echo final > /f\n\
     COPY --from=gen /id /id\n";

#[test]
fn only_the_filtered_stage_runs_again_and_readers_see_its_new_output() {
    let env = Env::new();
    let opts = env.options(DOCKERFILE);
    let first = build(&env.store, &opts).unwrap();
    assert_eq!(first.runs_executed, 2);
    let first_id = env.view(&first).read("id");

    let mut filtered = opts.clone();
    filtered.no_cache_filter = vec!["gen".to_string()];
    let second = build(&env.store, &filtered).unwrap();
    // gen's RUN again; the final stage's RUN from the cache; its COPY of the new /id anew.
    assert_eq!((second.runs_executed, second.steps_cached), (1, 1));
    let second_id = env.view(&second).read("id");
    assert_ne!(first_id, second_id);
    assert_eq!(env.view(&second).read("f"), "final\n");

    // By index too.
    let mut by_index = opts.clone();
    by_index.no_cache_filter = vec!["0".to_string()];
    assert_eq!(build(&env.store, &by_index).unwrap().runs_executed, 1);

    // Without the filter: the first build's records, all cached, the same image.
    let third = build(&env.store, &opts).unwrap();
    assert_eq!((third.runs_executed, third.image.id), (0, first.image.id));
    env.assert_clean();
}
