//! Heredocs (`RUN <<EOF`, `COPY <<-"EOF" /dst`): finding the delimiters on an instruction line.
//! The bodies are read by the parser loop.

use super::error::ParseErrorKind;
use crate::expand::{EnvList, Lexer};

/// One heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heredoc {
    /// The delimiter word (quotes removed).
    pub name: String,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when absent.
    pub file_descriptor: u32,
    /// False when any part of the delimiter was quoted: the body is then taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from body lines (see [`chomp_heredoc_content`]).
    pub chomp: bool,
    /// The body as written, each line with its newline.
    pub content: String,
}

/// Strips leading tabs from every line, for `<<-` heredocs.
pub fn chomp_heredoc_content(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// The heredocs an instruction line introduces, in order.
pub(super) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, ParseErrorKind> {
    let lexer = Lexer::new('\\')
        .raw_quotes(true)
        .raw_escapes(true)
        .skip_unset_env(true);
    // A line the lexer cannot split (unbalanced quotes) simply has no heredocs.
    let words = lexer
        .process_words(line, &EnvList::new())
        .unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// The heredoc a single word (`<<EOF`, `<<-"EOF"`) introduces, if it is one.
pub fn parse_heredoc_word(word: &str) -> Option<Heredoc> {
    parse_heredoc(word).ok().flatten()
}

/// Matches `^(\d*)<<(-?)([^<]*)$` and reads the delimiter word.
pub(super) fn parse_heredoc(word: &str) -> Result<Option<Heredoc>, ParseErrorKind> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, after),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let file_descriptor = word[..digits].parse().unwrap_or(0);
    let lexer = Lexer::new('\\').skip_unset_env(true);
    let env = EnvList::new();
    let words = lexer
        .process_words(rest, &env)
        .map_err(|source| ParseErrorKind::HeredocName { source })?;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    let raw = lexer
        .raw_quotes(true)
        .process_words(rest, &env)
        .map_err(|source| ParseErrorKind::HeredocName { source })?;
    let [raw_name] = raw.as_slice() else {
        return Err(ParseErrorKind::InvalidHeredoc {
            word: word.to_string(),
        });
    };
    // Quotes that vanished when quotes were processed mean the delimiter was quoted.
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    Ok(Some(Heredoc {
        name: name.clone(),
        file_descriptor,
        expand: quotes(name) == quotes(raw_name),
        chomp,
        content: String::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        let doc = parse_heredoc("<<EOF").unwrap().unwrap();
        assert_eq!(
            (doc.name.as_str(), doc.expand, doc.chomp),
            ("EOF", true, false)
        );
        let doc = parse_heredoc("<<-'EOF'").unwrap().unwrap();
        assert_eq!(
            (doc.name.as_str(), doc.expand, doc.chomp),
            ("EOF", false, true)
        );
        let doc = parse_heredoc("3<<\"E\"OF").unwrap().unwrap();
        assert_eq!(
            (doc.name.as_str(), doc.expand, doc.file_descriptor),
            ("EOF", false, 3)
        );
        assert_eq!(parse_heredoc("<<").unwrap(), None);
        assert_eq!(parse_heredoc("a<<EOF").unwrap(), None);
        assert_eq!(parse_heredoc("<<<EOF").unwrap(), None);
    }

    #[test]
    fn several_on_one_line() {
        let docs = heredocs_from_line("COPY <<A <<'B' /dst/").unwrap();
        let names: Vec<_> = docs.iter().map(|d| (d.name.as_str(), d.expand)).collect();
        assert_eq!(names, vec![("A", true), ("B", false)]);
    }

    #[test]
    fn chomp_strips_leading_tabs_per_line() {
        assert_eq!(chomp_heredoc_content("\t\ta\n\tb\n c\n"), "a\nb\n c\n");
    }
}
