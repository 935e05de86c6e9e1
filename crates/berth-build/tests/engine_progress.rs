//! Structured progress (`BuildOptions::progress`): BuildKit's vertex names, cached steps on a
//! rebuild, RUN output in the step's log, the exporting vertex's status lines, and a failing
//! RUN's error.

mod engine_support;

use std::sync::{Arc, Mutex};

use berth_build::engine::{ProgressEvent, ProgressKind, ProgressSink, build};
use engine_support::Env;

/// Builds with a recording sink; the events and the build's outcome.
fn build_recorded(env: &Env, dockerfile: &str) -> (Vec<ProgressEvent>, Result<String, String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let mut opts = env.options(dockerfile);
    opts.tags = vec!["progress7/app:1".into()];
    opts.progress = Some(ProgressSink::new(move |e: &ProgressEvent| {
        into.lock().unwrap().push(e.clone())
    }));
    let result = build(&env.store, &opts)
        .map(|r| r.image.id.to_string())
        .map_err(|e| e.to_string());
    let events = seen.lock().unwrap().clone();
    (events, result)
}

/// (name, how it ended) of each vertex, in start order.
fn outcomes(events: &[ProgressEvent]) -> Vec<(String, String)> {
    let mut out: Vec<(u32, String, String)> = Vec::new();
    for e in events {
        match &e.kind {
            ProgressKind::Started { name } => out.push((e.vertex, name.clone(), String::new())),
            ProgressKind::Cached | ProgressKind::Done { .. } | ProgressKind::Error { .. } => {
                let end = match &e.kind {
                    ProgressKind::Cached => "cached".to_string(),
                    ProgressKind::Done { .. } => "done".to_string(),
                    ProgressKind::Error { message } => format!("error: {message}"),
                    _ => unreachable!(),
                };
                let v = out.iter_mut().find(|v| v.0 == e.vertex).expect("started");
                assert!(v.2.is_empty(), "vertex {} ended twice", e.vertex);
                v.2 = end;
            }
            _ => {}
        }
    }
    out.into_iter().map(|(_, name, end)| (name, end)).collect()
}

fn log_of(events: &[ProgressEvent], name: &str) -> String {
    let id = events
        .iter()
        .find_map(|e| match &e.kind {
            ProgressKind::Started { name: n } if n == name => Some(e.vertex),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no vertex {name}"));
    events
        .iter()
        .filter(|e| e.vertex == id)
        .filter_map(|e| match &e.kind {
            ProgressKind::Log { data, .. } => Some(data.as_str()),
            _ => None,
        })
        .collect()
}

const DOCKERFILE: &str = "FROM fixtures/busybox:1.35 AS gen\n\
                          RUN echo made-by-gen > /g && echo hello-from-run\n\
                          FROM scratch\n\
                          ENV A=1\n\
                          COPY --from=gen /g /g\n";

#[test]
fn vertices_are_named_like_buildkit_and_cached_on_a_rebuild() {
    let env = Env::new();
    let (events, result) = build_recorded(&env, DOCKERFILE);
    let id = result.expect("build");
    let base = "docker.io/fixtures/busybox:1.35";
    let names: Vec<(String, String)> = outcomes(&events);
    let expect = |from: &str, run: &str, copy: &str| -> Vec<(String, String)> {
        [
            ("[internal] load build definition from Dockerfile", "done"),
            ("[internal] load .dockerignore", "done"),
            (&*format!("[internal] load metadata for {base}"), "done"),
            ("FROM", from),
            (
                "[gen 2/2] RUN echo made-by-gen > /g && echo hello-from-run",
                run,
            ),
            ("[stage-1 1/1] COPY --from=gen /g /g", copy),
            ("exporting to image", "done"),
        ]
        .iter()
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect()
    };
    // The FROM names the image by digest: compared by its prefix.
    let from = names
        .iter()
        .map(|(n, e)| match n.strip_prefix("[gen 1/2] FROM ") {
            Some(rest) => {
                assert!(rest.starts_with(&format!("{base}@sha256:")), "{n}");
                ("FROM".to_string(), e.clone())
            }
            None => (n.clone(), e.clone()),
        })
        .collect::<Vec<_>>();
    assert_eq!(from, expect("cached", "done", "done"), "{events:#?}");
    assert_eq!(
        log_of(
            &events,
            "[gen 2/2] RUN echo made-by-gen > /g && echo hello-from-run"
        ),
        "hello-from-run\n"
    );
    // The exporting vertex writes and names the image.
    let statuses: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            ProgressKind::Status {
                id,
                completed: Some(_),
                ..
            } => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert!(
        statuses.contains(&format!("writing image {id}")),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&"naming to docker.io/progress7/app:1".to_string()),
        "{statuses:?}"
    );
    // Times only go forward, and every vertex ended.
    assert!(events.windows(2).all(|w| w[0].time <= w[1].time + 0.002));

    let (again, result) = build_recorded(&env, DOCKERFILE);
    assert_eq!(result.expect("rebuild"), id);
    let ends: Vec<String> = outcomes(&again).into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        ends,
        ["done", "done", "done", "cached", "cached", "cached", "done"]
    );
    env.assert_clean();
}

#[test]
fn a_failing_run_fails_its_vertex_with_its_output() {
    let env = Env::new();
    let (events, result) = build_recorded(
        &env,
        "FROM fixtures/busybox:1.35\nRUN echo about-to-fail && exit 3\n",
    );
    assert!(result.is_err());
    let names = outcomes(&events);
    let (name, end) = names.last().unwrap();
    assert_eq!(name, "[2/2] RUN echo about-to-fail && exit 3");
    assert_eq!(
        end,
        "error: process \"echo about-to-fail && exit 3\" did not complete successfully: exit code: 3"
    );
    assert_eq!(log_of(&events, name), "about-to-fail\n");
    assert!(names.iter().all(|(_, end)| !end.is_empty()), "{names:?}");
    env.assert_clean();
}

#[test]
fn concurrent_stages_keep_their_own_vertices_and_logs() {
    let env = Env::new();
    let stage = |name: &str| {
        format!(
            "FROM fixtures/busybox:1.35 AS {name}\n\
             RUN echo from-{name} && sleep 0.5 && echo {name} > /{name}\n"
        )
    };
    let dockerfile = format!(
        "{}{}FROM scratch\nCOPY --from=left /left /left\nCOPY --from=right /right /right\n",
        stage("left"),
        stage("right")
    );
    let (events, result) = build_recorded(&env, &dockerfile);
    result.expect("build");
    let names = outcomes(&events);
    assert!(
        names
            .iter()
            .all(|(_, end)| end == "done" || end == "cached"),
        "{names:?}"
    );
    let run = |name: &str| {
        format!("[{name} 2/2] RUN echo from-{name} && sleep 0.5 && echo {name} > /{name}")
    };
    assert_eq!(log_of(&events, &run("left")), "from-left\n");
    assert_eq!(log_of(&events, &run("right")), "from-right\n");
    // Both RUN vertices were open at the same time.
    let span = |name: &str| {
        let id = events
            .iter()
            .find(|e| matches!(&e.kind, ProgressKind::Started { name: n } if *n == run(name)))
            .unwrap()
            .vertex;
        let times: Vec<f64> = events
            .iter()
            .filter(|e| e.vertex == id)
            .map(|e| e.time)
            .collect();
        (times[0], *times.last().unwrap())
    };
    let (left, right) = (span("left"), span("right"));
    assert!(left.0 < right.1 && right.0 < left.1, "{left:?} {right:?}");
    let copies: Vec<&String> = names
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("[stage-2 "))
        .collect();
    assert_eq!(
        copies,
        [
            "[stage-2 1/2] COPY --from=left /left /left",
            "[stage-2 2/2] COPY --from=right /right /right"
        ]
    );
    env.assert_clean();
}

#[test]
fn onbuild_triggers_are_counted_and_named_as_buildkit_does() {
    let env = Env::new();
    let (events, result) = build_recorded(
        &env,
        "FROM fixtures/busybox:1.35 AS base\n\
         ONBUILD RUN echo from-trigger\n\
         FROM base\n\
         RUN echo own\n",
    );
    result.expect("build");
    let names: Vec<String> = outcomes(&events)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !n.starts_with("[internal]") && n != "exporting to image")
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].starts_with("[base 1/1] FROM docker.io/fixtures/busybox:1.35@sha256:"));
    assert_eq!(
        names[1..],
        [
            "[stage-1 1/2] ONBUILD RUN echo from-trigger",
            "[stage-1 2/2] RUN echo own"
        ]
    );
    assert_eq!(log_of(&events, &names[1]), "from-trigger\n");
    env.assert_clean();
}
