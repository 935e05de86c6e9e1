//! Heredocs at build time, as BuildKit runs them. `RUN <<EOF` alone: the body is the shell
//! command, or, when it starts with `#!`, a script mounted at `/dev/pipes/<name>` and run.
//! Any other RUN line with heredocs goes to the shell whole (line, then each body and its
//! delimiter), so the shell reads them. `COPY <<EOF /dst` copies a file holding the body,
//! expanded with the stage's variables unless the delimiter was quoted.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::expand::{EnvList, ExpandError, Lexer};
use crate::instructions::{CommandLine, InlineFile};
use crate::parser::parse_heredoc_word;

/// Where a `#!` heredoc script is mounted in the step.
pub const PIPES_DIR: &str = "/dev/pipes";

/// What a RUN with heredocs runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeredocRun {
    pub command: CommandLine,
    /// A script to mount read-only at `/dev/pipes/<name>` (mode 0755).
    pub script: Option<InlineFile>,
}

/// The command a RUN line with `files` (its heredoc bodies) stands for.
pub fn run_command(command: &CommandLine, files: &[InlineFile]) -> HeredocRun {
    let plain = HeredocRun {
        command: command.clone(),
        script: None,
    };
    let (CommandLine::Shell(line), Some(first)) = (command, files.first()) else {
        return plain;
    };
    let alone = line.split_whitespace().count() == 1 && parse_heredoc_word(line.trim()).is_some();
    if alone {
        if first.content.starts_with("#!") {
            return HeredocRun {
                command: CommandLine::Shell(format!("{PIPES_DIR}/{}", first.name)),
                script: Some(first.clone()),
            };
        }
        return HeredocRun {
            command: CommandLine::Shell(first.content.clone()),
            script: None,
        };
    }
    let mut full = line.clone();
    for file in files {
        full.push('\n');
        full.push_str(&file.content);
        full.push_str(&file.name);
    }
    HeredocRun {
        command: CommandLine::Shell(full),
        script: None,
    }
}

/// A heredoc's name must be usable as a file name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// The body of a COPY/ADD heredoc: variables expanded and escapes applied (`\$` is `$`,
/// `\\` is `\`), quotes kept as written, unless the delimiter was quoted.
pub fn file_content(file: &InlineFile, escape: char, env: &EnvList) -> Result<String, ExpandError> {
    if !file.expand {
        return Ok(file.content.clone());
    }
    Lexer::new(escape)
        .raw_quotes(true)
        .process_word(&file.content, env)
}

/// Heredoc files written to a private directory; removed when dropped.
pub struct InlineDir {
    dir: PathBuf,
}

impl InlineDir {
    /// Writes each `(name, content)` as `dir/<name>` with `mode` and `mtime` (seconds).
    pub fn write(
        dir: PathBuf,
        files: &[(String, String)],
        mode: u32,
        mtime: i64,
    ) -> io::Result<InlineDir> {
        fs::create_dir_all(&dir)?;
        let inline = InlineDir { dir };
        for (name, content) in files {
            let path = inline.dir.join(name);
            fs::write(&path, content)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
            let time = rustix::fs::Timespec {
                tv_sec: mtime,
                tv_nsec: 0,
            };
            rustix::fs::utimensat(
                rustix::fs::CWD,
                &path,
                &rustix::fs::Timestamps {
                    last_access: time,
                    last_modification: time,
                },
                rustix::fs::AtFlags::empty(),
            )?;
        }
        Ok(inline)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for InlineDir {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            tracing::warn!(path = %self.dir.display(), %error, "removing heredoc files");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content: &str) -> InlineFile {
        InlineFile {
            name: name.into(),
            content: content.into(),
            expand: true,
        }
    }

    #[test]
    fn a_lone_heredoc_is_the_command() {
        let run = run_command(
            &CommandLine::Shell("<<EOF".into()),
            &[file("EOF", "echo a\necho b\n")],
        );
        assert_eq!(run.command, CommandLine::Shell("echo a\necho b\n".into()));
        assert_eq!(run.script, None);
    }

    #[test]
    fn a_shebang_heredoc_is_a_script() {
        let body = "#!/usr/bin/env python3\nprint(1)\n";
        let run = run_command(&CommandLine::Shell("<<-PY".into()), &[file("PY", body)]);
        assert_eq!(run.command, CommandLine::Shell("/dev/pipes/PY".into()));
        assert_eq!(run.script.unwrap().content, body);
    }

    #[test]
    fn other_lines_go_to_the_shell_whole() {
        let run = run_command(
            &CommandLine::Shell("cat <<A <<B > /out".into()),
            &[file("A", "one\n"), file("B", "two\n")],
        );
        assert_eq!(
            run.command,
            CommandLine::Shell("cat <<A <<B > /out\none\nA\ntwo\nB".into())
        );
    }

    #[test]
    fn copy_bodies_expand_unless_quoted() {
        let env = EnvList::from_pairs(["NAME=world"]);
        let mut doc = file("EOF", "hello $NAME \"q\" \\$NAME\n");
        assert_eq!(
            file_content(&doc, '\\', &env).unwrap(),
            "hello world \"q\" $NAME\n"
        );
        doc.expand = false;
        assert_eq!(file_content(&doc, '\\', &env).unwrap(), doc.content);
    }

    #[test]
    fn names_must_be_file_names() {
        assert!(valid_name("EOF"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(".."));
    }
}
