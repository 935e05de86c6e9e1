//! Expansion operators beyond BuildKit's envVarTest table: patterns, replacement, the
//! unset-vs-empty forms, error messages and the backtick escape token.

use berth_build::expand::{EnvList, ExpandError, Lexer};

fn env() -> EnvList {
    EnvList::from_pairs(["P=dir/sub/file.tar.gz", "EMPTY=", "A=a b", "S=banana"])
}

fn word(input: &str) -> Result<String, ExpandError> {
    Lexer::new('\\').process_word(input, &env())
}

#[test]
fn prefix_and_suffix_removal() {
    for (input, want) in [
        ("${P#*/}", "sub/file.tar.gz"),
        ("${P##*/}", "file.tar.gz"),
        ("${P%.*}", "dir/sub/file.tar"),
        ("${P%%.*}", "dir/sub/file"),
        ("${P#nomatch}", "dir/sub/file.tar.gz"),
        ("${P#d?r/}", "sub/file.tar.gz"),
        ("${P%[gz][gz]}", "dir/sub/file.tar."),
        ("${UNSET#x}", ""),
        ("${S#\\*}", "banana"),
    ] {
        assert_eq!(word(input).unwrap(), want, "{input}");
    }
}

#[test]
fn replacement() {
    for (input, want) in [
        ("${S/an/AN}", "bANana"),
        ("${S//an/AN}", "bANANa"),
        ("${S//a}", "bnn"),
        ("${S/n*/X}", "baX"),
        ("${S//[ab]/.}", "..n.n."),
        ("${UNSET/a/b}", ""),
    ] {
        assert_eq!(word(input).unwrap(), want, "{input}");
    }
}

#[test]
fn unset_versus_empty() {
    for (input, want) in [
        ("${EMPTY-d}", ""),
        ("${EMPTY:-d}", "d"),
        ("${UNSET-d}", "d"),
        ("${EMPTY+a}", "a"),
        ("${EMPTY:+a}", ""),
        ("${UNSET+a}", ""),
        ("${EMPTY?}", ""),
    ] {
        assert_eq!(word(input).unwrap(), want, "{input}");
    }
}

#[test]
fn required_variables_report_their_message() {
    let err = word("${UNSET?set it please}").unwrap_err();
    assert!(
        matches!(&err, ExpandError::Required { name, message, .. } if name == "UNSET" && message == "set it please")
    );
    let err = word("${EMPTY:?}").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("EMPTY: is not allowed to be empty"),
        "{err}"
    );
    let err = word("${UNSET:?}").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("UNSET: is not allowed to be unset"),
        "{err}"
    );
    assert!(matches!(
        word("${P:#x}"),
        Err(ExpandError::UnsupportedModifier { .. })
    ));
    assert!(matches!(word("${P"), Err(ExpandError::MissingBrace { .. })));
}

#[test]
fn word_splitting_and_quotes() {
    let lexer = Lexer::new('\\');
    assert_eq!(
        lexer.process_words("x $A \"$A\" '$A'", &env()).unwrap(),
        vec!["x", "a", "b", "a b", "$A"]
    );
    assert_eq!(
        lexer.process_word("x $A \"$A\"", &env()).unwrap(),
        "x a b a b"
    );
}

#[test]
fn backtick_escape_token() {
    let lexer = Lexer::new('`');
    assert_eq!(
        lexer.process_word("C:\\dir `$S", &env()).unwrap(),
        "C:\\dir $S"
    );
    assert_eq!(lexer.process_word("\"a`\"b\"", &env()).unwrap(), "a\"b");
    assert_eq!(lexer.process_word("$S", &env()).unwrap(), "banana");
}

#[test]
fn skip_unset_keeps_references() {
    let lexer = Lexer::new('\\').skip_unset_env(true);
    assert_eq!(
        lexer
            .process_word("$S ${NOPE} $NOPE ${NOPE:-d}", &env())
            .unwrap(),
        "banana ${NOPE} $NOPE ${NOPE:-d}"
    );
}
