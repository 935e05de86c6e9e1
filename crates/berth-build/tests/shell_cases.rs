//! BuildKit's own expansion and word-splitting cases, read in place from the shared test data.

use std::path::PathBuf;

use berth_build::expand::{CaseInsensitive, EnvList, Lexer};

fn shell_dir() -> PathBuf {
    berth_testutil::shared_dir().join("testdata/dockerfile-parser/shell")
}

#[test]
fn env_var_test_cases() {
    let text = std::fs::read_to_string(shell_dir().join("envVarTest")).expect("read envVarTest");
    let env = EnvList::from_pairs(["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]);
    let lexer = Lexer::new('\\');
    let (mut passed, mut failures) = (0, Vec::new());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 3, "malformed case line {line:?}");
        let (platform, source, expected) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        // Windows cases differ only in case-insensitive variable names.
        let windows = CaseInsensitive(&env);
        let result = match platform {
            "W" => lexer.process_word(source, &windows),
            _ => lexer.process_word(source, &env),
        };
        let got = match result {
            Ok(word) => word,
            Err(_) => "error".to_string(),
        };
        if got == expected {
            passed += 1;
        } else {
            failures.push(format!("{source:?}: want {expected:?}, got {got:?}"));
        }
    }
    println!("envVarTest: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert_eq!(passed, 230, "every U/A/W case of envVarTest runs");
}

#[test]
fn words_test_cases() {
    let text = std::fs::read_to_string(shell_dir().join("wordsTest")).expect("read wordsTest");
    let lexer = Lexer::new('\\');
    let mut envs: Vec<String> = Vec::new();
    let (mut passed, mut failures) = (0, Vec::new());
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("ENV ") {
            envs.push(rest.trim_start_matches(' ').to_string());
            continue;
        }
        let (input, expected) = line.split_once('|').expect("case has a |");
        let expected: Vec<String> = expected
            .trim_start_matches(' ')
            .split(',')
            .map(str::to_string)
            .collect();
        let env = EnvList::from_pairs(&envs);
        let got = lexer
            .process_words(input.trim(), &env)
            .unwrap_or_else(|_| vec!["error".to_string()]);
        if got == expected {
            passed += 1;
        } else {
            failures.push(format!("{input:?}: want {expected:?}, got {got:?}"));
        }
    }
    println!("wordsTest: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert_eq!(passed, 24, "every wordsTest case runs");
}
