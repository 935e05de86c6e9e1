//! `berth build --progress`: BuildKit-style progress from berthd's structured events —
//! `plain` (`#N` blocks, CACHED on a rebuild, DONE with times, RUN output, the exporting
//! vertex) and `tty` under a real pseudo-terminal (`[+] Building … FINISHED`, lines cut to the
//! terminal's width). The docker CLI, which never asks for the events, sees the classic stream.

mod common;
mod ctr4_support;

use common::registry::Registry;

use std::process::{Command, Output};

use common::Daemon;
use ctr4_support::{Pty, wait_exit};

const DOCKERFILE: &str = "FROM fixtures/busybox:1.35 AS gen\n\
                          RUN echo progress7-hello && sleep 0.3 && echo progress7-world > /w\n\
                          FROM fixtures/busybox:1.35\n\
                          COPY --from=gen /w /w\n\
                          COPY a.txt /a.txt\n";

/// [`Daemon::berth_cmd`] without the progress settings of the environment the tests run in.
fn berth_cmd(d: &Daemon, args: &[&str]) -> Command {
    let mut cmd = d.berth_cmd(args);
    cmd.env_remove("BUILDKIT_PROGRESS")
        .env_remove("DOCKER_BUILDKIT");
    cmd
}

fn berth(d: &Daemon, args: &[&str]) -> Output {
    let out = berth_cmd(d, args).output().expect("run berth");
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}\n{}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        d.log()
    );
    out
}

/// A context dir in the daemon's temp dir, with the busybox fixture loaded.
fn setup(d: &Daemon, name: &str) -> String {
    let archive = berth_testutil::fixture("busybox.oci-archive.tar");
    d.ok(&["load", "-i", &archive.to_string_lossy()]);
    let dir = d.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(dir.join("a.txt"), "a\n").unwrap();
    dir.to_string_lossy().into_owned()
}

/// The `#N` of the vertex named `name` in plain output, and the lines of its block(s).
fn block<'a>(text: &'a str, name: &str) -> (String, Vec<&'a str>) {
    let header = text
        .lines()
        .find(|l| l.starts_with('#') && l.ends_with(name))
        .unwrap_or_else(|| panic!("no vertex {name:?} in:\n{text}"));
    let number = header.split(' ').next().unwrap().to_string();
    // A vertex interrupted by another's output shows "#N ..." and, when it resumes, its header
    // again (BuildKit's plain format; stages built side by side interleave): fold those.
    let interrupted = format!("{number} ...");
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| l.split(' ').next() == Some(number.as_str()) && *l != interrupted)
        .collect();
    let mut seen_header = false;
    lines.retain(|l| *l != header || !std::mem::replace(&mut seen_header, true));
    (number, lines)
}

#[test]
fn plain_progress_shows_steps_output_cache_hits_and_the_export() {
    let d = Daemon::start();
    let ctx = setup(&d, "plain-ctx");
    let first = berth(
        &d,
        &["build", "--progress=plain", "-t", "progress7:1", &ctx],
    );
    assert!(first.stdout.is_empty(), "progress goes to stderr");
    let text = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(
        text.starts_with("#1 [internal] load build context\n"),
        "{text}"
    );
    for name in [
        "[internal] load build definition from Dockerfile",
        "[internal] load .dockerignore",
        "[internal] load metadata for docker.io/fixtures/busybox:1.35",
    ] {
        let (n, lines) = block(&text, name);
        assert!(lines.contains(&format!("{n} DONE 0.0s").as_str()), "{text}");
    }
    // The FROM of a stored image is cached, named by digest.
    let from = text
        .lines()
        .find(|l| l.contains("[gen 1/2] FROM docker.io/fixtures/busybox:1.35@sha256:"))
        .unwrap_or_else(|| panic!("no FROM vertex in:\n{text}"));
    let n = from.split(' ').next().unwrap();
    assert!(text.contains(&format!("{n} CACHED\n")), "{text}");
    // The RUN ran: its output timed from its start, then DONE with its duration.
    let run = "[gen 2/2] RUN echo progress7-hello && sleep 0.3 && echo progress7-world > /w";
    let (n, lines) = block(&text, run);
    let output = lines
        .iter()
        .find(|l| l.ends_with(" progress7-hello"))
        .unwrap_or_else(|| panic!("no RUN output in:\n{text}"));
    let seconds: f64 = output.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(seconds < 10.0, "{output}");
    let done = lines.last().unwrap();
    let took: f64 = done
        .strip_prefix(&format!("{n} DONE "))
        .and_then(|t| t.strip_suffix('s'))
        .unwrap_or_else(|| panic!("{done:?} in:\n{text}"))
        .parse()
        .unwrap();
    assert!(took >= 0.3, "{text}");
    let (_, copy) = block(&text, "[stage-1 3/3] COPY a.txt /a.txt");
    assert!(copy.last().unwrap().contains(" DONE "), "{text}");
    // The export comes last: the image written and named.
    let (n, export) = block(&text, "exporting to image");
    assert!(
        export
            .iter()
            .any(|l| l.starts_with(&format!("{n} writing image sha256:")) && l.ends_with(" done")),
        "{text}"
    );
    assert!(
        export.contains(&format!("{n} naming to docker.io/library/progress7:1 done").as_str()),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with(&format!("{n} DONE ")),
        "{text}"
    );

    // A rebuild: every step CACHED, nothing runs.
    let again = berth(
        &d,
        &["build", "--progress=plain", "-t", "progress7:1", &ctx],
    );
    let text = String::from_utf8_lossy(&again.stderr).into_owned();
    for name in [
        run,
        "[stage-1 2/3] COPY --from=gen /w /w",
        "[stage-1 3/3] COPY a.txt /a.txt",
    ] {
        let (n, lines) = block(&text, name);
        assert_eq!(
            lines,
            [format!("{n} {name}"), format!("{n} CACHED")],
            "{text}"
        );
    }
    assert!(
        !text.lines().any(|l| l.ends_with(" progress7-hello")),
        "the RUN ran again: {text}"
    );

    // The docker CLI never asks for the events: it sees the classic builder's stream.
    let mut docker = d.docker_cmd(&["build", "-t", "progress7:2", &ctx]);
    docker.env("DOCKER_BUILDKIT", "0");
    let out = docker.output().expect("docker build");
    let classic = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{classic}");
    assert!(
        classic.contains("Step 2/5 : RUN echo progress7-hello"),
        "{classic}"
    );
    assert!(classic.contains(" ---> Using cache"), "{classic}");
    assert!(!classic.contains("#1 "), "{classic}");
}

/// Terminal output without its escape sequences, as the lines a screen would show.
fn visible_lines(screen: &str) -> Vec<String> {
    let mut out = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out.split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            l.rsplit('\r').next().unwrap_or(l).to_string()
        })
        .collect()
}

#[test]
fn tty_progress_redraws_under_a_real_terminal_and_finishes() {
    let d = Daemon::start();
    let ctx = setup(&d, "tty-ctx");
    berth(
        &d,
        &["build", "--progress=plain", "-t", "progress7:1", &ctx],
    );
    std::fs::write(format!("{ctx}/a.txt"), "changed\n").unwrap();

    // auto on a terminal is tty.
    let mut pty = Pty::new(30, 60);
    let mut child = pty.spawn(berth_cmd(&d, &["build", "-t", "progress7:1", &ctx]));
    let mut screen = pty.expect("FINISHED");
    // The rest of the final frame, up to the end of its last line.
    screen.push_str(&pty.expect("naming to docker.io/library/progress7:1"));
    screen.push_str(&pty.expect("\n"));
    let status = wait_exit(&mut child);
    assert!(status.success(), "{screen:?}\nberthd log:\n{}", d.log());
    assert!(screen.contains("[+] Building "), "{screen:?}");
    assert!(
        screen.contains("\x1b[2K"),
        "lines are cleared as they are redrawn"
    );
    let lines = visible_lines(&screen);
    let last_header = lines
        .iter()
        .rposition(|l| l.starts_with("[+] Building "))
        .unwrap();
    let header = &lines[last_header];
    assert!(header.ends_with(" FINISHED"), "{header:?}");
    assert!(header.contains("(10/10)"), "{lines:#?}");
    let frame = &lines[last_header..];
    // Cut to the width: nothing reaches the last column, so nothing wraps.
    for line in frame {
        assert!(line.chars().count() < 60, "{line:?} is too wide");
    }
    let cached_run = frame
        .iter()
        .find(|l| l.starts_with(" => CACHED [gen 2/2] RUN echo progress7-hello"))
        .unwrap_or_else(|| panic!("{frame:#?}"));
    assert!(cached_run.ends_with(" 0.0s"), "{cached_run:?}");
    assert!(
        frame
            .iter()
            .any(|l| l.starts_with(" => [stage-1 3/3] COPY a.txt /a.txt ")),
        "the changed COPY ran: {frame:#?}"
    );
    assert!(
        frame
            .iter()
            .any(|l| l.starts_with(" => => naming to docker.io/library/progress7:1 ")),
        "{frame:#?}"
    );
}

#[test]
fn a_base_pulled_by_the_build_shows_in_its_metadata_vertex() {
    let d = Daemon::start();
    let registry = Registry::start(d.dir.path(), &[]);
    let base = format!("{}/progress7/base:1", registry.addr);
    d.ok(&["tag", "busybox", &base]);
    d.ok(&["push", &base]);
    d.ok(&["rmi", &base]);
    let ctx = d.dir.path().join("pull-ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {base}\nRUN true\n")).unwrap();
    let out = berth(&d, &["build", "--progress=plain", &ctx.to_string_lossy()]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let (n, lines) = block(&text, &format!("[internal] load metadata for {base}"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{n} pulling {base}")) && l.ends_with(" done")),
        "{text}"
    );
    // Pulled by this build: the FROM is done, not cached.
    let from = text
        .lines()
        .find(|l| l.contains(&format!("[1/2] FROM {base}@sha256:")))
        .unwrap_or_else(|| panic!("{text}"));
    let n = from.split(' ').next().unwrap();
    assert!(text.contains(&format!("{n} DONE ")), "{text}");
}
