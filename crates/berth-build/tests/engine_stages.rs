//! Multi-stage builds: a RUN in one stage, `COPY --from` in the next.

mod engine_support;

use engine_support::Env;

#[test]
fn copy_from_an_earlier_stage_takes_files_its_run_created() {
    let env = Env::new();
    let result = env.build(
        "FROM fixtures/busybox:1.35 AS build\n\
         RUN mkdir -p /out/sub && echo hello > /out/greeting && echo deep > /out/sub/file\n\
         FROM fixtures/busybox:1.35 AS unused\n\
         RUN exit 7\n\
         FROM fixtures/busybox:1.35\n\
         COPY --from=build /out /app/\n\
         COPY --from=build /out/greeting /single\n",
    );
    // Only the stages the target needs run: the failing `unused` stage is skipped.
    assert_eq!(result.runs_executed, 1);
    // busybox's layer plus the two COPY layers (stage 1's RUN layer is not in the image).
    assert_eq!(result.image.layers.len(), 3);
    {
        let view = env.view(&result);
        assert_eq!(view.read("/app/greeting"), "hello\n");
        assert_eq!(view.read("/app/sub/file"), "deep\n");
        assert_eq!(view.read("/single"), "hello\n");
        assert!(!view.path("/out").exists());
    }
    env.assert_clean();
}
