//! COPY --link: the layer is made from an empty directory, so it is the same blob whatever
//! is below, and a changed base reuses it instead of copying again.

mod engine_support;

use berth_build::engine::build;
use engine_support::Env;

#[test]
fn a_linked_copy_keeps_its_layer_and_cache_across_base_changes() {
    let env = Env::new();
    env.write(&[("a.txt", "a\n"), ("d/b.txt", "b\n")]);
    let first = env.build(
        "FROM fixtures/busybox:1.35\n\
         WORKDIR /app\n\
         COPY --link a.txt d ./\n",
    );
    let linked = first.image.layers.last().unwrap().digest.clone();
    let config = env.config(&first);
    let history = config["history"].as_array().unwrap();
    assert_eq!(
        history.last().unwrap()["created_by"],
        "COPY --link a.txt d ./ # buildkit"
    );

    // A different base below the same COPY: the linked layer is applied, not rebuilt.
    let opts = env.options(
        "FROM fixtures/busybox:1.35\n\
         RUN echo changed > /base-marker\n\
         WORKDIR /app\n\
         COPY --link a.txt d ./\n",
    );
    let second = build(&env.store, &opts).unwrap();
    assert_eq!(second.runs_executed, 1);
    assert_eq!(
        second.steps_cached, 1,
        "the --link layer comes from the cache"
    );
    assert_eq!(second.image.layers.last().unwrap().digest, linked);
    {
        let view = env.view(&second);
        assert_eq!(view.read("/base-marker"), "changed\n");
        assert_eq!(view.read("/app/a.txt"), "a\n");
        assert_eq!(view.read("/app/b.txt"), "b\n");
        // The base's files are all still there under the linked layer.
        assert!(view.path("/bin/busybox").is_file());
    }

    // A changed source is a new layer, and --no-cache never reuses one.
    env.write(&[("a.txt", "A\n")]);
    let third = build(&env.store, &opts).unwrap();
    assert_ne!(third.image.layers.last().unwrap().digest, linked);
    let mut fresh = opts.clone();
    fresh.no_cache = true;
    assert_eq!(build(&env.store, &fresh).unwrap().steps_cached, 0);
    env.assert_clean();
}
