//! Multi-stage builds: a RUN in one stage, `COPY --from` in the next.

mod engine_support;

use std::sync::{Arc, Mutex};

use berth_build::engine::BuildOptions;
use engine_support::{Env, View};

/// A RUN recording when it started and ended (host uptime, in seconds) in `/<name>-start`
/// and `/<name>-end`, a second apart: long enough that two run one after the other could
/// not overlap.
fn timed_run(name: &str) -> String {
    format!(
        "RUN cut -d' ' -f1 /proc/uptime > /{name}-start && sleep 1 && \
         cut -d' ' -f1 /proc/uptime > /{name}-end\n"
    )
}

/// The (start, end) a [`timed_run`] recorded, copied into the image.
fn interval(view: &View, name: &str) -> (f64, f64) {
    let at = |p: String| view.read(&p).trim().parse::<f64>().unwrap();
    (at(format!("/{name}-start")), at(format!("/{name}-end")))
}

/// Collects the build's text output.
fn record_output(opts: &mut BuildOptions) -> Arc<Mutex<Vec<u8>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    opts.output = Some(Arc::new(move |c: &[u8]| {
        into.lock().unwrap().extend_from_slice(c)
    }));
    seen
}

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

#[test]
fn independent_stages_run_at_the_same_time() {
    let env = Env::new();
    let stage = |name: &str| format!("FROM fixtures/busybox:1.35 AS {name}\n{}", timed_run(name));
    let dockerfile = format!(
        "{}{}FROM fixtures/busybox:1.35\n\
         COPY --from=left /left-start /left-end /\n\
         COPY --from=right /right-start /right-end /\n",
        stage("left"),
        stage("right")
    );
    let result = env.build(&dockerfile);
    assert_eq!(result.runs_executed, 2);
    {
        let view = env.view(&result);
        let ((ls, le), (rs, re)) = (interval(&view, "left"), interval(&view, "right"));
        assert!(
            ls < re && rs < le,
            "the stages ran one after the other: left {ls}..{le}, right {rs}..{re}"
        );
    }
    // Cached the second time, in parallel too.
    let again = env.build(&dockerfile);
    assert_eq!((again.runs_executed, again.image.id), (0, result.image.id));
    env.assert_clean();
}

#[test]
fn the_target_runs_its_own_steps_while_a_stage_it_reads_is_built() {
    let env = Env::new();
    let dockerfile = format!(
        "FROM fixtures/busybox:1.35 AS gen\n{}FROM fixtures/busybox:1.35\n{}\
         COPY --from=gen /gen-start /gen-end /\n",
        timed_run("gen"),
        timed_run("own")
    );
    let mut opts = env.options(&dockerfile);
    let seen = record_output(&mut opts);
    let result = berth_build::engine::build(&env.store, &opts).unwrap();
    assert_eq!(result.runs_executed, 2);
    {
        let view = env.view(&result);
        let ((gs, ge), (os, oe)) = (interval(&view, "gen"), interval(&view, "own"));
        assert!(
            gs < oe && os < ge,
            "the target waited for gen: gen {gs}..{ge}, target {os}..{oe}"
        );
    }
    // The progress text still reads stage after stage: steps 1 to 5, in order, unprefixed.
    let text = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    let numbers: Vec<usize> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Step ")?.split_once("/5 : ")?.0.parse().ok())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5], "{text}");
    env.assert_clean();
}

#[test]
fn stages_reading_each_other_fail_instead_of_waiting_forever() {
    let env = Env::new();
    let opts = env.options(
        "FROM fixtures/busybox:1.35 AS a\nCOPY --from=b /bin/true /t\n\
         FROM fixtures/busybox:1.35 AS b\nCOPY --from=a /bin/true /t\n",
    );
    let error = berth_build::engine::build(&env.store, &opts)
        .map(|r| r.image.id)
        .expect_err("a cycle");
    assert!(error.to_string().contains("depends on itself"), "{error}");
    env.assert_clean();
}

#[test]
fn concurrent_stages_number_their_steps_by_place_in_the_dockerfile() {
    let env = Env::new();
    let mut opts = env.options(
        "ARG BASE=fixtures/busybox:1.35\n\
         FROM $BASE AS left\nRUN echo left > /l\n\
         FROM $BASE AS unused\nRUN exit 7\n\
         FROM $BASE AS right\nRUN echo right > /r\n\
         FROM $BASE\nCOPY --from=left /l /l\nCOPY --from=right /r /r\n",
    );
    let seen = record_output(&mut opts);
    let result = berth_build::engine::build(&env.store, &opts).unwrap();
    assert_eq!(result.runs_executed, 2);
    let text = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    // (stage prefix, number) of every step line; the two RUN stages ran on their own threads.
    let mut steps: Vec<(String, usize)> = text
        .lines()
        .filter_map(|line| {
            let (prefix, rest) = match line.strip_prefix('[') {
                Some(tagged) => {
                    let (name, rest) = tagged.split_once("] ")?;
                    (name.to_string(), rest)
                }
                None => (String::new(), line),
            };
            let number = rest.strip_prefix("Step ")?.split_once("/10 : ")?.0;
            Some((prefix, number.parse().ok()?))
        })
        .collect();
    steps.sort_by_key(|(_, n)| *n);
    let expected: Vec<(String, usize)> = [
        ("", 1),
        ("left", 2),
        ("left", 3),
        ("right", 6),
        ("right", 7),
        ("", 8),
        ("", 9),
        ("", 10),
    ]
    .iter()
    .map(|(p, n)| (p.to_string(), *n))
    .collect();
    assert_eq!(steps, expected, "{text}");
    assert!(
        text.starts_with("Step 1/10 : ARG BASE=fixtures/busybox:1.35\n"),
        "{text}"
    );
    env.assert_clean();
}
