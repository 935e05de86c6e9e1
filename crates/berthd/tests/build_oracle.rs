//! Docker as the oracle for `berth build` (issue #7): every case under tests/build-oracle/cases
//! is built by berthd with the berth CLI, and the image config (from `berth save`) and the
//! flattened filesystem (`berth create` + `berth export`) must equal what Docker 20.10 with
//! BuildKit produced — tests/build-oracle/expected, written by tests/build-oracle/regenerate.sh.
//! Both sides go through the same tests/build-oracle/normalize.py, so what is left out
//! (timestamps, IDs, builder bookkeeping, runtime-added files) is left out of both alike.
//! A mismatch fails with a unified diff per case and file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Daemon;

/// Debian's python3 (the one regenerate.sh uses) runs the shared normalizer.
const PYTHON: &str = "/usr/bin/python3";

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/build-oracle")
}

/// `berth ARGS`, asserting success; its trimmed stdout.
fn berth_ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.berth(args);
    assert!(
        out.status.success(),
        "berth {args:?} failed ({}): {}\n{}\nberthd log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        d.log()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `normalize.py MODE ARCHIVE`: the normalized text.
fn normalize(mode: &str, archive: &Path) -> String {
    let out = Command::new(PYTHON)
        .arg(oracle_dir().join("normalize.py"))
        .arg(mode)
        .arg(archive)
        .output()
        .expect("run normalize.py");
    assert!(
        out.status.success(),
        "normalize.py {mode} {} failed: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("normalize.py prints UTF-8")
}

/// `diff -u expected actual`, or None when they are equal.
fn unified_diff(expected: &Path, actual_text: &str, actual: &Path) -> Option<String> {
    std::fs::write(actual, actual_text).expect("write berth's normalized output");
    let out = Command::new("diff")
        .arg("-u")
        .arg(expected)
        .arg(actual)
        .output()
        .expect("run diff");
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds case `name` with berth and returns its differences from Docker's expected output.
fn check_case(d: &Daemon, name: &str, work: &Path) -> Vec<String> {
    let case_dir = oracle_dir().join("cases").join(name);
    let expected = oracle_dir().join("expected").join(name);
    let tag = format!("oracle-{name}:latest");
    berth_ok(
        d,
        &[
            "build",
            "--network",
            "none",
            "-q",
            "-t",
            &tag,
            &case_dir.to_string_lossy(),
        ],
    );
    let saved = work.join(format!("{name}-saved.tar"));
    berth_ok(d, &["save", "-o", &saved.to_string_lossy(), &tag]);
    // A command for images without CMD/ENTRYPOINT, as regenerate.sh does; never run.
    let container = berth_ok(d, &["create", &tag, "true"]);
    let exported = work.join(format!("{name}-export.tar"));
    berth_ok(
        d,
        &["export", "-o", &exported.to_string_lossy(), &container],
    );
    berth_ok(d, &["rm", &container]);

    let mut diffs = Vec::new();
    for (file, mode, archive) in [
        ("config.json", "config", &saved),
        ("fs.txt", "fs", &exported),
    ] {
        let actual = normalize(mode, archive);
        let actual_path = work.join(format!("{name}-{file}"));
        if let Some(diff) = unified_diff(&expected.join(file), &actual, &actual_path) {
            diffs.push(format!("== {name}/{file} (- docker, + berth)\n{diff}"));
        }
    }
    diffs
}

#[test]
fn berth_build_matches_docker_buildkit_for_every_oracle_case() {
    berth_testutil::require_program("diff");
    assert!(
        Path::new(PYTHON).is_file(),
        "{PYTHON} is missing (apt-get install python3)"
    );
    let d = Daemon::start();
    let work = d.dir.path().join("oracle");
    std::fs::create_dir_all(&work).expect("oracle work dir");
    let mut cases: Vec<String> = std::fs::read_dir(oracle_dir().join("cases"))
        .expect("tests/build-oracle/cases")
        .map(|e| {
            e.expect("case entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "too few oracle cases: {cases:?}");
    let mut diffs = Vec::new();
    for name in &cases {
        assert!(
            oracle_dir().join("expected").join(name).is_dir(),
            "no expected output for case {name}: run tests/build-oracle/regenerate.sh"
        );
        diffs.extend(check_case(&d, name, &work));
    }
    assert!(
        diffs.is_empty(),
        "berth build differs from docker build in {} file(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
