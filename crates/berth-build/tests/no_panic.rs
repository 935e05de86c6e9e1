//! Property tests: the parser, the instruction layer, the lexer and the ignore matcher must
//! return (Ok or Err) on any input, never panic. Inputs: random bytes, random token soup from
//! the Dockerfile alphabet, and mutated real Dockerfiles from BuildKit's golden set.

use std::collections::BTreeMap;

use berth_build::dockerignore::Matcher;
use berth_build::expand::{EnvList, Lexer};
use berth_build::instructions::{parse_build_file, parse_instruction};
use berth_build::parser;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "FROM ",
    "RUN ",
    "CMD ",
    "COPY ",
    "ADD ",
    "ENV ",
    "ARG ",
    "LABEL ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "SHELL ",
    "EXPOSE ",
    "VOLUME ",
    "USER ",
    "WORKDIR ",
    "STOPSIGNAL ",
    "MAINTAINER ",
    "AS ",
    "CMD",
    "NONE",
    "--from=",
    "--mount=",
    "type=cache,target=/x",
    "--chown=",
    "--link",
    "--interval=",
    "5s",
    "--",
    "-",
    "\\",
    "`",
    "\n",
    "\r\n",
    "\t",
    " ",
    "#",
    "# escape=`\n",
    "# syntax=x\n",
    "\"",
    "'",
    "$",
    "${",
    "}",
    ":-",
    ":+",
    ":?",
    "#",
    "##",
    "%",
    "%%",
    "/",
    "//",
    "*",
    "?",
    "[",
    "]",
    "{",
    "<<",
    "<<-",
    "EOF",
    "'EOF'",
    "\"EOF\"",
    "=",
    "a",
    "b",
    "x y",
    "\u{0}",
    "é",
    "한",
    "\u{feff}",
    "[\"a\", \"b\"]",
    "[1]",
    "[",
    ",",
    "1",
    "80/tcp",
    "!",
    "**",
];

fn exercise_dockerfile(bytes: &[u8]) {
    let Ok(file) = parser::parse(bytes) else {
        return;
    };
    let _ = file.dump();
    for node in &file.children {
        let _ = parse_instruction(node, "Dockerfile");
    }
    if let Ok(build) = parse_build_file(&file) {
        let args = BTreeMap::from([("A".to_string(), "x".to_string())]);
        for index in 0..build.stages.len() {
            let _ = build.resolve_stage(index, &args, &EnvList::new());
        }
    }
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

/// Read once: every case of the mutation property picks one of these.
fn golden_dockerfiles() -> &'static [Vec<u8>] {
    static FILES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    FILES.get_or_init(read_golden_dockerfiles)
}

fn read_golden_dockerfiles() -> Vec<Vec<u8>> {
    let root = berth_testutil::shared_dir().join("testdata/dockerfile-parser/testfiles");
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&root)
        .expect("golden dir")
        .map(|e| std::fs::read(e.expect("entry").path().join("Dockerfile")).expect("read"))
        .collect();
    files.push(b"FROM a\nRUN <<EOF\nx\nEOF\nCOPY <<-A <<B /d\n\ta\n\tA\nb\nB\n".to_vec());
    assert!(files.len() > 30);
    files
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Splice(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Splice(i, t)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Mutation::Replace(i, b) if len > 0 => bytes[i % len] = b,
            Mutation::Splice(i, t) => {
                let at = i % (len + 1);
                bytes.splice(at..at, t.bytes());
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_survives_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise_dockerfile(&bytes);
    }

    #[test]
    fn parser_survives_token_soup(text in token_soup()) {
        exercise_dockerfile(text.as_bytes());
    }

    #[test]
    fn parser_survives_mutated_real_dockerfiles(
        pick in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        let files = golden_dockerfiles();
        let original = files[pick % files.len()].clone();
        exercise_dockerfile(&mutate(original, &mutations));
    }

    #[test]
    fn lexer_survives_anything(text in token_soup(), raw in any::<String>(), flags in any::<(bool, bool, bool, bool)>()) {
        let env = EnvList::from_pairs(["A=x y", "EMPTY=", "P=a/b/c.tar.gz"]);
        let escape = if flags.3 { '`' } else { '\\' };
        let lexer = Lexer::new(escape).raw_quotes(flags.0).raw_escapes(flags.1).skip_unset_env(flags.2);
        for input in [&text, &raw] {
            let _ = lexer.process_word(input, &env);
            let _ = lexer.process_words(input, &env);
        }
    }

    #[test]
    fn plain_words_expand_to_themselves(word in "[a-zA-Z0-9_./:-]{0,40}") {
        let lexer = Lexer::new('\\');
        prop_assert_eq!(lexer.process_word(&word, &EnvList::new()).unwrap(), word);
    }

    #[test]
    fn ignore_matcher_survives_anything(
        patterns in prop::collection::vec(token_soup(), 0..6),
        raw_pattern in any::<String>(),
        path in token_soup(),
    ) {
        let mut all = patterns.clone();
        all.push(raw_pattern);
        if let Ok(matcher) = Matcher::new(&all) {
            let _ = matcher.matches(&path, false);
            let _ = matcher.can_skip_dir(&path);
        }
        let _ = Matcher::from_ignore_file(&patterns.join("\n"));
    }
}
