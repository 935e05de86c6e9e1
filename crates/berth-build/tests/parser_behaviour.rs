//! Parser behaviour beyond BuildKit's golden files: heredocs, line numbers, directives,
//! comments inside continuations, CRLF, BOM, and error messages.

use berth_build::parser::{self, Arg, ParseErrorKind};

fn dump(source: &str) -> String {
    parser::parse(source.as_bytes()).expect("parses").dump()
}

#[test]
fn heredocs_are_read_and_attached() {
    let source = "FROM a\nRUN <<EOF\necho one\necho two\nEOF\nRUN 3<<-'END' cat\n\tliteral $X\n\tEND\nCOPY <<A <<\"B\" /dst/\na\nA\nb\nB\nRUN echo done\n";
    let file = parser::parse(source.as_bytes()).unwrap();
    let nodes = &file.children;
    assert_eq!(nodes.len(), 5);
    let run = &nodes[1];
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].name, "EOF");
    assert_eq!(run.heredocs[0].content, "echo one\necho two\n");
    assert!(run.heredocs[0].expand);
    assert_eq!((run.start_line, run.end_line), (2, 5));
    let chomped = &nodes[2].heredocs[0];
    assert_eq!(
        (
            chomped.name.as_str(),
            chomped.chomp,
            chomped.expand,
            chomped.file_descriptor
        ),
        ("END", true, false, 3)
    );
    assert_eq!(chomped.content, "\tliteral $X\n");
    let copy = &nodes[3];
    let names: Vec<_> = copy
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.expand, h.content.as_str()))
        .collect();
    assert_eq!(names, vec![("A", true, "a\n"), ("B", false, "b\n")]);
    assert_eq!(nodes[4].start_line, 14);
    assert_eq!(
        file.dump().lines().nth(3),
        Some(r#"(copy "<<A" "<<\"B\"" "/dst/")"#)
    );
}

#[test]
fn heredocs_only_for_shell_form_run_copy_add() {
    let file =
        parser::parse(b"RUN [\"cat\", \"<<EOF\"]\nENV X <<EOF\nONBUILD RUN <<EOF\nbody\nEOF\n")
            .unwrap();
    assert!(file.children[0].heredocs.is_empty());
    assert!(file.children[1].heredocs.is_empty());
    assert_eq!(file.children[2].heredocs[0].content, "body\n");
}

#[test]
fn unterminated_heredoc_names_the_instruction_line() {
    let err = parser::parse(b"FROM a\n\nRUN <<EOF\nnever ends\n").unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(
        err.kind,
        ParseErrorKind::UnterminatedHeredoc { name: "EOF".into() }
    );
    assert_eq!(err.to_string(), "Dockerfile:3: unterminated heredoc EOF");
}

#[test]
fn continuation_skips_comments_and_blank_lines() {
    let file =
        parser::parse(b"RUN a \\\n# comment\n\n   b \\\n  # indented comment\n  c\nFROM x\n")
            .unwrap();
    assert_eq!(file.children[0].words(), vec!["a    b   c"]);
    assert_eq!(
        (file.children[0].start_line, file.children[0].end_line),
        (1, 6)
    );
    assert_eq!(file.children[1].start_line, 7);
    assert_eq!(file.warnings.len(), 1, "one empty continuation line");
}

#[test]
fn crlf_bom_and_case_insensitive_keywords() {
    assert_eq!(
        dump("\u{feff}from a\r\nRuN echo hi\r\n"),
        "(from \"a\")\n(run \"echo hi\")"
    );
    let file = parser::parse(b"FrOm a").unwrap();
    assert_eq!(file.children[0].value, "FrOm");
    assert_eq!(file.children[0].name(), "from");
}

#[test]
fn directives_and_escape_token() {
    let file = parser::parse(b"# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n").unwrap();
    assert_eq!(
        file.directives.syntax.as_deref(),
        Some("docker/dockerfile:1")
    );
    assert_eq!(file.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(file.escape_token(), '`');
    assert_eq!(file.children[1].words(), vec!["dir c:\\   && echo"]);
    // After the first non-directive line, directive-looking comments are plain comments.
    let late = parser::parse(b"FROM a\n# escape=`\nRUN x \\\n y\n").unwrap();
    assert_eq!(late.escape_token(), '\\');
    assert_eq!(late.children[1].words(), vec!["x  y"]);
    let dup = parser::parse(b"# escape=`\n# escape=\\\nFROM a\n").unwrap_err();
    assert_eq!(dup.line, 2);
    assert!(matches!(
        dup.kind,
        ParseErrorKind::DuplicateDirective { .. }
    ));
    let bad = parser::parse(b"# escape=x\nFROM a\n").unwrap_err();
    assert!(
        bad.to_string()
            .starts_with("Dockerfile:1: invalid escape token"),
        "{bad}"
    );
}

#[test]
fn comments_before_an_instruction_are_kept() {
    let file = parser::parse(b"# first\n# second\nFROM a\nRUN x\n").unwrap();
    assert_eq!(file.children[0].prev_comment, vec!["first", "second"]);
    assert!(file.children[1].prev_comment.is_empty());
}

#[test]
fn onbuild_nests_and_flags_are_kept() {
    let file =
        parser::parse(b"ONBUILD COPY --from=x a b\nCOPY --chown=\"a b\" --link x y\n").unwrap();
    match &file.children[0].args[0] {
        Arg::Nested(child) => {
            assert_eq!(child.flags, vec!["--from=x"]);
            assert_eq!(child.words(), vec!["a", "b"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(file.children[1].flags, vec!["--chown=a b", "--link"]);
    assert_eq!(
        file.dump(),
        "(onbuild (copy [\"--from=x\"] \"a\" \"b\"))\n(copy [\"--chown=a b\" \"--link\"] \"x\" \"y\")"
    );
}

#[test]
fn errors_name_file_and_line() {
    let err = parser::parse_named("app.Dockerfile", b"FROM a\nCMD [\"a\", 1]\n").unwrap_err();
    assert_eq!(err.file, "app.Dockerfile");
    assert_eq!(err.line, 2);
    assert!(
        err.to_string()
            .starts_with("app.Dockerfile:2: CMD: when using JSON array syntax"),
        "{err}"
    );
    let err = parser::parse(b"FROM a\nENV a=b c\n").unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::MissingEquals { ref word, .. } if word == "c"));
    let err = parser::parse(b"\n# only comments\n\n").unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::NoInstructions);
}
