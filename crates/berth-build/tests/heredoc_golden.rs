//! Heredoc golden cases: `testdata/heredocs/<case>/Dockerfile` parses into the instructions
//! in `result` (each RUN/COPY/ADD with its command or sources and every heredoc body, as
//! BuildKit's `instructions` package gives them), or fails with the message in `error`.
//! `BERTH_REGENERATE_GOLDEN=1` rewrites the expected files from the current output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use berth_build::instructions::{InlineFile, Instruction, parse_build_file};
use berth_build::parser;

fn render_files(out: &mut String, files: &[InlineFile]) {
    for file in files {
        let _ = writeln!(
            out,
            "  <<{} expand={} content={:?}",
            file.name, file.expand, file.content
        );
    }
}

fn render(source: &[u8]) -> Result<String, String> {
    let file = parser::parse(source).map_err(|e| e.to_string())?;
    let build = parse_build_file(&file).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for stage in &build.stages {
        for step in &stage.instructions {
            let line = step.start_line;
            match &step.instruction {
                Instruction::Run(run) => {
                    let _ = writeln!(out, "{line} RUN {:?}", run.command);
                    render_files(&mut out, &run.files);
                }
                Instruction::Copy(c) => {
                    let _ = writeln!(
                        out,
                        "{line} COPY sources={:?} dest={:?} chmod={:?}",
                        c.files.sources, c.files.dest, c.chmod
                    );
                    render_files(&mut out, &c.files.inline);
                }
                Instruction::Add(a) => {
                    let _ = writeln!(
                        out,
                        "{line} ADD sources={:?} dest={:?}",
                        a.files.sources, a.files.dest
                    );
                    render_files(&mut out, &a.files.inline);
                }
                other => {
                    let _ = writeln!(out, "{line} {}", other.keyword());
                }
            }
        }
    }
    Ok(out)
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/heredocs");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("read {}: {e}", root.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    cases.sort();
    cases
}

#[test]
fn heredoc_cases_match_their_golden_files() {
    let regenerate = std::env::var_os("BERTH_REGENERATE_GOLDEN").is_some();
    let cases = cases();
    assert!(cases.len() >= 6, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let source = std::fs::read(case.join("Dockerfile")).expect("Dockerfile");
        let (file, got) = match render(&source) {
            Ok(text) => ("result", text),
            Err(message) => ("error", message + "\n"),
        };
        let path = case.join(file);
        if regenerate {
            std::fs::write(&path, &got).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{}:\n--- want\n{want}--- got\n{got}",
                path.display()
            )),
            Err(e) => failures.push(format!("{}: {e}; got:\n{got}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
