//! Golden cases for COPY/ADD `--exclude` and COPY `--parents`: what parses to what, and the
//! exact `file:line` errors of malformed values (checked as written, and again once expanded).

use std::collections::BTreeMap;

use berth_build::expand::EnvList;
use berth_build::instructions::*;
use berth_build::parser;

/// (Dockerfile line, (parents, excludes) as parsed).
const PARSED: &[(&str, (bool, &[&str]))] = &[
    ("COPY --exclude=*.md a /b/", (false, &["*.md"])),
    (
        "COPY --exclude=*.md --exclude=tmp --exclude=a/?/c a /b/",
        (false, &["*.md", "tmp", "a/?/c"]),
    ),
    ("COPY --parents ./x/a.txt ./y/b.txt /dst/", (true, &[])),
    ("COPY --parents=true ./src/**/*.txt /dst/", (true, &[])),
    ("COPY --parents=false a /b", (false, &[])),
    (
        "COPY --from=build --parents --exclude=*.o /src/./app /dst/",
        (true, &["*.o"]),
    ),
    ("COPY --exclude=$PATTERN a /b/", (false, &["$PATTERN"])),
    (
        "ADD --exclude=*.log --exclude=[ab].txt logs /l/",
        (false, &["*.log", "[ab].txt"]),
    ),
];

/// (Dockerfile, whole error).
const ERRORS: &[(&str, &str)] = &[
    (
        "FROM a\nCOPY --exclude=!x a /b/",
        "Dockerfile:2: COPY: invalid value \"!x\" for flag --exclude: exceptions (!) are not allowed",
    ),
    (
        "FROM a\n\nCOPY --exclude=**/x a /b/",
        "Dockerfile:3: COPY: invalid value \"**/x\" for flag --exclude: ** is not allowed",
    ),
    (
        "FROM a\nADD --exclude=[a a /b/",
        "Dockerfile:2: ADD: invalid value \"[a\" for flag --exclude: not a valid pattern",
    ),
    (
        "FROM a\nADD --exclude= a /b/",
        "Dockerfile:2: ADD: invalid value \"\" for flag --exclude: an empty pattern",
    ),
    (
        "FROM a\nCOPY --exclude a /b/",
        "Dockerfile:2: COPY: missing a value on flag: --exclude",
    ),
    (
        "FROM a\nCOPY --parents=yes a /b/",
        "Dockerfile:2: COPY: expecting boolean value for flag --parents, not: yes",
    ),
    (
        "FROM a\nCOPY --parents --parents a /b/",
        "Dockerfile:2: COPY: duplicate flag specified: --parents",
    ),
    (
        "FROM a\nADD --parents a /b/",
        "Dockerfile:2: ADD: unknown flag: --parents",
    ),
];

fn filters(instruction: &Instruction) -> (bool, Vec<String>) {
    match instruction {
        Instruction::Copy(c) => (c.parents, c.exclude.clone()),
        Instruction::Add(a) => (false, a.exclude.clone()),
        other => panic!("not COPY/ADD: {other:?}"),
    }
}

#[test]
fn flags_parse_as_written() {
    for (line, (parents, excludes)) in PARSED {
        let file = parser::parse(line.as_bytes()).expect("parses");
        let parsed = parse_instruction(&file.children[0], "Dockerfile")
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let want: Vec<String> = excludes.iter().map(|s| s.to_string()).collect();
        assert_eq!(filters(&parsed), (*parents, want), "{line}");
    }
}

#[test]
fn malformed_values_name_file_and_line() {
    for (source, want) in ERRORS {
        let file = parser::parse(source.as_bytes()).expect("parses");
        let got = parse_build_file(&file).expect_err(source).to_string();
        assert_eq!(&got, want, "{source:?}");
    }
}

#[test]
fn expanded_patterns_are_checked_too() {
    let source = "FROM a\nARG P\nCOPY --exclude=$P a /b/\n";
    let file = parser::parse_named("docker/Dockerfile.dev", source.as_bytes()).unwrap();
    let build = parse_build_file(&file).expect("unexpanded patterns wait for their values");
    let args = |value: &str| BTreeMap::from([("P".to_string(), value.to_string())]);
    let stage = build
        .resolve_stage(0, &args("*.md"), &EnvList::new())
        .expect("*.md is fine");
    assert_eq!(filters(&stage.instructions[1].instruction).1, vec!["*.md"]);
    let err = build
        .resolve_stage(0, &args("!keep"), &EnvList::new())
        .expect_err("an exception after expansion");
    assert_eq!(
        err.to_string(),
        "docker/Dockerfile.dev:3: COPY: invalid value \"!keep\" for flag --exclude: exceptions (!) are not allowed"
    );
}
