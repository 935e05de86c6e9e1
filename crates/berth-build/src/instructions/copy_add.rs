//! COPY and ADD: sources (paths and heredocs), destination and their flags.

use super::convert::inline_files;
use super::error::InstructionErrorKind as K;
use super::flags::{FlagKind, Flags};
use super::types::{Add, Copy, SourcesAndDest};
use crate::parser::Node;

fn sources_and_dest(
    instruction: &'static str,
    node: &Node,
    args: &[String],
) -> Result<SourcesAndDest, K> {
    let Some((dest, sources)) = args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(K::NoDestination { instruction });
    };
    if is_heredoc_word(dest) {
        return Err(K::HeredocDestination { instruction });
    }
    let files = inline_files(&node.heredocs);
    let mut paths = Vec::new();
    let mut inline = Vec::new();
    for source in sources {
        match heredoc_name(source) {
            Some(name) => inline.extend(files.iter().find(|f| f.name == name).cloned()),
            None => paths.push(source.clone()),
        }
    }
    Ok(SourcesAndDest {
        sources: paths,
        inline,
        dest: dest.clone(),
    })
}

fn is_heredoc_word(word: &str) -> bool {
    heredoc_name(word).is_some()
}

/// The delimiter a `<<NAME` source word refers to.
fn heredoc_name(word: &str) -> Option<String> {
    crate::parser::parse_heredoc_word(word).map(|doc| doc.name)
}

pub(super) fn copy(node: &Node, args: &[String]) -> Result<Copy, K> {
    let flags = Flags::parse(
        "COPY",
        &node.flags,
        &[
            ("from", FlagKind::String),
            ("chown", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
            ("parents", FlagKind::Bool),
            ("exclude", FlagKind::Repeated),
        ],
    )?;
    let exclude = flags.all("exclude");
    check_excludes("COPY", &exclude)?;
    Ok(Copy {
        files: sources_and_dest("COPY", node, args)?,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        parents: flags.bool("parents"),
        exclude,
    })
}

pub(super) fn add(node: &Node, args: &[String]) -> Result<Add, K> {
    let flags = Flags::parse(
        "ADD",
        &node.flags,
        &[
            ("chown", FlagKind::String),
            ("chmod", FlagKind::String),
            ("checksum", FlagKind::String),
            ("keep-git-dir", FlagKind::Bool),
            ("link", FlagKind::Bool),
            ("exclude", FlagKind::Repeated),
        ],
    )?;
    let exclude = flags.all("exclude");
    check_excludes("ADD", &exclude)?;
    let checksum = flags.string("checksum");
    if let Some(sum) = checksum.as_deref().filter(|s| !s.contains('$')) {
        check_digest(sum)?;
    }
    Ok(Add {
        files: sources_and_dest("ADD", node, args)?,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        checksum,
        keep_git_dir: flags.bool("keep-git-dir"),
        link: flags.bool("link"),
        exclude,
    })
}

/// `algorithm:hex` with a known algorithm and the right length.
pub(super) fn check_digest(sum: &str) -> Result<(), K> {
    let fail = |reason: &str| K::InvalidFlagValue {
        instruction: "ADD",
        flag: "checksum".to_string(),
        value: sum.to_string(),
        reason: reason.to_string(),
    };
    let (algorithm, hex) = sum
        .split_once(':')
        .ok_or_else(|| fail("want algorithm:hex"))?;
    let want_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(fail("unsupported digest algorithm")),
    };
    if hex.len() != want_len
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(fail("malformed hex digest"));
    }
    Ok(())
}

/// `--exclude` values without variables (those are checked once expanded).
pub(super) fn check_excludes(instruction: &'static str, patterns: &[String]) -> Result<(), K> {
    for pattern in patterns.iter().filter(|p| !p.contains('$')) {
        check_exclude_pattern(pattern).map_err(|reason| K::InvalidFlagValue {
            instruction,
            flag: "exclude".to_string(),
            value: pattern.clone(),
            reason: reason.to_string(),
        })?;
    }
    Ok(())
}

/// One `--exclude` pattern: a `.dockerignore` pattern without `!` exceptions or `**`, which
/// BuildKit does not allow there.
pub fn check_exclude_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern.trim().is_empty() {
        return Err("an empty pattern");
    }
    if pattern.trim_start().starts_with('!') {
        return Err("exceptions (!) are not allowed");
    }
    if pattern.contains("**") {
        return Err("** is not allowed");
    }
    crate::dockerignore::Pattern::new(pattern)
        .map(drop)
        .map_err(|_| "not a valid pattern")
}
