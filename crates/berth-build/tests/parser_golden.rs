//! BuildKit's parser golden cases, read in place: every `testfiles/<case>/Dockerfile` must dump to
//! `testfiles/<case>/result`, every `testfiles-negative/<case>/Dockerfile` must fail.

use std::path::PathBuf;

use berth_build::parser;

fn cases(dir: &str) -> Vec<PathBuf> {
    let root = berth_testutil::shared_dir()
        .join("testdata/dockerfile-parser")
        .join(dir);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("read {}: {e}", root.display()))
        .map(|entry| entry.expect("dir entry").path())
        .collect();
    cases.sort();
    cases
}

#[test]
fn positive_cases_dump_like_buildkit() {
    let cases = cases("testfiles");
    let mut failures = Vec::new();
    for case in &cases {
        let source = std::fs::read(case.join("Dockerfile")).expect("read Dockerfile");
        let expected = std::fs::read_to_string(case.join("result")).expect("read result");
        match parser::parse(&source) {
            Ok(file) => {
                let got = file.dump() + "\n";
                if got != expected {
                    failures.push(format!(
                        "{}:\n--- want\n{expected}--- got\n{got}",
                        case.display()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    println!(
        "parser golden: {} of {} passed",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 30, "only {} cases found", cases.len());
}

#[test]
fn negative_cases_fail() {
    let cases = cases("testfiles-negative");
    let mut unexpected = Vec::new();
    for case in &cases {
        let source = std::fs::read(case.join("Dockerfile")).expect("read Dockerfile");
        if let Ok(file) = parser::parse(&source) {
            unexpected.push(format!("{} parsed: {}", case.display(), file.dump()));
        }
    }
    println!(
        "parser negative: {} of {} failed as expected",
        cases.len() - unexpected.len(),
        cases.len()
    );
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    assert!(cases.len() >= 4, "only {} cases found", cases.len());
}
