//! `--build-context NAME=VALUE` (repeatable), as buildx takes it: VALUE is a local directory
//! or `docker-image://REF`. A directory travels inside the context tar under
//! `.berth-contexts/<dir>/` and the daemon hears of it as `context:<dir>`; anything that
//! looks like a URL goes to the daemon as it is, which refuses what it cannot build from.

use std::path::PathBuf;

/// Where the directories go in the context tar (the daemon takes it out of the context).
pub const BUNDLED_DIR: &str = ".berth-contexts";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct NamedContexts {
    /// NAME → VALUE as the daemon takes them (`buildcontexts`).
    pub query: Vec<(String, String)>,
    /// Each directory to send, with its name under [`BUNDLED_DIR`].
    pub dirs: Vec<(String, PathBuf)>,
}

pub fn parse(flags: &[String]) -> anyhow::Result<NamedContexts> {
    let mut contexts = NamedContexts::default();
    for flag in flags {
        let Some((name, value)) = flag.split_once('=') else {
            anyhow::bail!(
                "invalid argument {flag:?} for \"--build-context\" flag: expected NAME=VALUE"
            );
        };
        if name.is_empty() {
            anyhow::bail!(
                "invalid argument {flag:?} for \"--build-context\" flag: the context name is empty"
            );
        }
        // A later flag of the same name wins, as in buildx.
        contexts.query.retain(|(n, _)| n != name);
        if value.contains("://") || value.starts_with("git@") {
            contexts.query.push((name.to_string(), value.to_string()));
            continue;
        }
        let path = PathBuf::from(value);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => anyhow::bail!("--build-context {flag:?}: {value:?} is not a directory"),
            Err(e) => anyhow::bail!("--build-context {flag:?}: {value:?}: {e}"),
        }
        let dir = format!("{}-{}", contexts.dirs.len(), plain(name));
        contexts
            .query
            .push((name.to_string(), format!("context:{dir}")));
        contexts.dirs.push((dir, path));
    }
    // Only the directories a surviving entry names are sent.
    contexts.dirs.retain(|(dir, _)| {
        let value = format!("context:{dir}");
        contexts.query.iter().any(|(_, v)| *v == value)
    });
    Ok(contexts)
}

/// `name` as one harmless path component (names may hold `/` and `:`).
fn plain(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_query_entries_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        let flags = [
            format!("src={path}"),
            "busybox=docker-image://fixtures/busybox:1.35".to_string(),
            "repo=https://github.com/x/y.git".to_string(),
            format!("a/b:c={path}"),
        ];
        let parsed = parse(&flags).unwrap();
        assert_eq!(
            parsed.query,
            vec![
                ("src".to_string(), "context:0-src".to_string()),
                (
                    "busybox".to_string(),
                    "docker-image://fixtures/busybox:1.35".to_string()
                ),
                ("repo".to_string(), "https://github.com/x/y.git".to_string()),
                ("a/b:c".to_string(), "context:1-a_b_c".to_string()),
            ]
        );
        assert_eq!(parsed.dirs[1], ("1-a_b_c".to_string(), dir.path().into()));
        // The same name twice: the later one wins, the earlier directory is not sent.
        let twice = parse(&[format!("src={path}"), "src=docker-image://busybox".into()]).unwrap();
        assert_eq!(twice.dirs, Vec::new());
        assert_eq!(twice.query.len(), 1);
    }

    #[test]
    fn malformed_flags_name_the_flag() {
        let err = |flag: &str| parse(&[flag.to_string()]).unwrap_err().to_string();
        assert!(
            err("foo").contains("\"foo\" for \"--build-context\""),
            "{}",
            err("foo")
        );
        assert!(err("=x").contains("context name is empty"), "{}", err("=x"));
        let missing = err("src=/no/such/dir");
        assert!(missing.contains("src=/no/such/dir"), "{missing}");
    }
}
