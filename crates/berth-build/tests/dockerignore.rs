//! `.dockerignore` behaviour, table-driven from the cases Docker's own matcher is tested with
//! (moby/patternmatcher and Go's `filepath.Match` tables), plus the directory-skipping check.

use berth_build::dockerignore::{Matcher, parse_ignore_file};

fn matches(patterns: &[&str], path: &str) -> bool {
    Matcher::new(patterns)
        .unwrap_or_else(|e| panic!("{patterns:?}: {e}"))
        .matches(path, false)
}

/// (pattern, path, excluded) — excluded counts a match through a parent directory.
const SINGLE: &[(&str, &str, bool)] = &[
    ("**", "file", true),
    ("**", "file/", true),
    ("**/", "file", true),
    ("**/", "file/", true),
    ("**", "/", true),
    ("**", "dir/file", true),
    ("**/", "dir/file/", true),
    ("**/**", "dir/file", true),
    ("dir/**", "dir/file", true),
    ("dir/**", "dir/dir2/file/", true),
    ("**/dir", "dir", true),
    ("**/dir", "dir/file", true),
    ("**/dir2/*", "dir/dir2/file", true),
    ("**/dir2/*", "dir/dir2/file/", true),
    ("**/dir2/**", "dir/dir2/dir3/file", true),
    ("**file", "file", true),
    ("**file", "dir/dir/file", true),
    ("**/file", "dir/dir/file", true),
    ("**/file*", "dir/dir/file.txt", true),
    ("**/file*txt", "dir/dir/file.txt", true),
    ("**/file*.txt*", "dir/dir/file.txt", true),
    ("**/**/*.txt", "dir/dir/file.txt", true),
    ("**/**/*.txt2", "dir/dir/file.txt", false),
    ("**/*.txt", "file.txt", true),
    ("**/**/*.txt", "file.txt", true),
    ("a**/*.txt", "a/file.txt", true),
    ("a**/*.txt", "a/dir/file.txt", true),
    ("a**/*.txt", "a/dir/dir/file.txt", true),
    ("a/*.txt", "a/dir/file.txt", false),
    ("a/*.txt", "a/file.txt", true),
    ("a/*.txt**", "a/file.txt", true),
    ("a[b-d]e", "ae", false),
    ("a[b-d]e", "ace", true),
    ("a[b-d]e", "aae", false),
    ("a[^b-d]e", "aze", true),
    (".*", ".foo", true),
    (".*", "foo", false),
    ("abc.def", "abcdef", false),
    ("abc.def", "abc.def", true),
    ("abc?def", "abcZdef", true),
    ("abc?def", "abcdef", false),
    ("**/foo/bar", "foo/bar", true),
    ("**/foo/bar", "dir/dir2/foo/bar", true),
    ("abc/**", "abc", false),
    ("abc/**", "abc/def/ghi", true),
    ("**/.foo", ".foo", true),
    ("**/.foo", "bar.foo", false),
    ("a(b)c/def", "a(b)c/def", true),
    ("a(b)c/def", "a(b)c/xyz", false),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
    (
        "dist/*.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    ("a\\\\", "a\\", true),
    ("a\\*b", "a*b", true),
    ("a\\*b", "ab", false),
    // Go's filepath.Match table, through Docker's parent-directory rule.
    ("abc", "abc", true),
    ("*", "abc", true),
    ("*c", "abc", true),
    ("a*", "a", true),
    ("a*", "ab/c", true),
    ("a*/b", "abc/b", true),
    ("a*/b", "a/c/b", false),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
    ("a*b?c*x", "abxbbxdbxebxczzx", true),
    ("a*b?c*x", "abxbbxdbxebxczzy", false),
    ("ab[^c]", "abc", false),
    ("ab[^e-g]", "abc", true),
    ("a?b", "a☺b", true),
    ("a[^a]b", "a☺b", true),
    ("a???b", "a☺b", false),
    ("[a-ζ]*", "α", true),
    ("*[a-ζ]", "A", false),
    ("a?b", "a/b", false),
    ("a*b", "a/b", false),
    ("[\\]a]", "]", true),
    ("[\\-]", "-", true),
    ("[x\\-]", "-", true),
    ("[x\\-]", "z", false),
    ("[\\-x]", "a", false),
    ("*x", "xxx", true),
    // Docker's cleanup of patterns and paths.
    ("/abs", "abs", true),
    ("./rel/", "rel/x", true),
    ("a/../b", "b", true),
    ("*.go", ".", false),
];

#[test]
fn single_pattern_table() {
    let mut failures = Vec::new();
    for (pattern, path, want) in SINGLE {
        if matches(&[pattern], path) != *want {
            failures.push(format!("{pattern:?} vs {path:?}: want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exceptions_and_order() {
    let table: &[(&[&str], &str, bool)] = &[
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/other.md", true),
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0-py3-none-any.whl",
            false,
        ),
        (&[], "any/path/there", false),
    ];
    for (patterns, path, want) in table {
        assert_eq!(matches(patterns, path), *want, "{patterns:?} vs {path:?}");
    }
}

#[test]
fn malformed_patterns_are_errors() {
    for bad in [
        "[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "!", "[z-a]",
    ] {
        assert!(Matcher::new([bad]).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn directory_skipping_respects_exceptions() {
    let m = Matcher::new(["node_modules", "build", "!build/keep.txt"]).unwrap();
    assert!(m.can_skip_dir("node_modules"));
    assert!(m.can_skip_dir("node_modules/deep"));
    assert!(!m.can_skip_dir("build"), "an exception lives inside build/");
    assert!(m.matches("build/other", false));
    assert!(!m.matches("build/keep.txt", false));
    assert!(!m.can_skip_dir("src"), "src is not excluded at all");
    let anywhere = Matcher::new(["node_modules", "logs", "!**/important.log"]).unwrap();
    assert!(
        !anywhere.can_skip_dir("logs"),
        "**/important.log may match below logs/"
    );
    assert!(!anywhere.can_skip_dir("node_modules"));
    assert!(!anywhere.matches("logs/x/important.log", false));
    let wildcard = Matcher::new(["a", "!*/keep"]).unwrap();
    assert!(!wildcard.can_skip_dir("a"), "*/keep matches a/keep");
    assert!(!wildcard.matches("a/keep", false));
    assert!(wildcard.can_skip_dir("a/deeper") || wildcard.matches("a/deeper", true));
    let nested = Matcher::new(["a", "!a/b/c"]).unwrap();
    assert!(!nested.can_skip_dir("a"));
    assert!(!nested.can_skip_dir("a/b"));
    assert!(nested.can_skip_dir("a/x"));
}

#[test]
fn ignore_file_end_to_end() {
    let content = "# build output\n/target\n*.log\n!keep.log\n  docs/**/*.md \n";
    let m = Matcher::from_ignore_file(content).unwrap();
    assert_eq!(
        parse_ignore_file(content),
        vec!["target", "*.log", "!keep.log", "docs/**/*.md"]
    );
    assert!(m.matches("target/debug/x", false));
    assert!(m.can_skip_dir("target"));
    assert!(m.matches("a.log", false));
    assert!(!m.matches("keep.log", false));
    assert!(m.matches("docs/a/b/c.md", false));
    assert!(m.matches("docs/c.md", false));
    assert!(!m.matches("src/main.rs", false));
}
