//! Splits a joined instruction line into keyword, `--flags` and the rest.

/// BuildKit's `tokenWhitespace`: `[\t\v\f\r ]`.
pub(super) fn is_token_space(ch: char) -> bool {
    matches!(ch, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Splits `text` at the first run of token whitespace: `(before, after)`.
pub(super) fn split_once_token_space(text: &str) -> Option<(&str, &str)> {
    let start = text.find(is_token_space)?;
    let rest = text[start..].trim_start_matches(is_token_space);
    Some((&text[..start], rest))
}

/// `(keyword, flags, arguments)`; the keyword keeps its case.
pub(super) fn split_command(line: &str) -> (String, Vec<String>, String) {
    let line = line.trim();
    match split_once_token_space(line) {
        Some((cmd, rest)) => {
            let (args, flags) = extract_builder_flags(rest);
            (cmd.to_string(), flags, args.trim().to_string())
        }
        None => (line.to_string(), Vec::new(), String::new()),
    }
}

#[derive(PartialEq)]
enum Phase {
    Spaces,
    Word,
    Quote(char),
}

/// Reads leading `--flag[=value]` words (quotes and backslashes processed) and returns the rest
/// of the line. A bare `--` ends the flags.
fn extract_builder_flags(line: &str) -> (&str, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut flags = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut i = 0;
    while i <= chars.len() {
        let at_end = i == chars.len();
        let (offset, ch) = chars.get(i).copied().unwrap_or((line.len(), '\0'));
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            let starts_flag = ch == '-' && chars.get(i + 1).is_some_and(|(_, c)| *c == '-');
            if !starts_flag {
                return (&line[offset..], flags);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                flags.push(word);
            }
            break;
        }
        match phase {
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if word == "--" {
                        return (&line[offset..], flags);
                    }
                    if blank_ok || !word.is_empty() {
                        flags.push(std::mem::take(&mut word));
                    }
                    word.clear();
                    blank_ok = false;
                } else if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                } else if ch == '\\' {
                    if let Some((_, next)) = chars.get(i + 1) {
                        word.push(*next);
                        i += 1;
                    }
                } else {
                    word.push(ch);
                }
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                } else if ch == '\\' {
                    match chars.get(i + 1) {
                        Some((_, next)) => {
                            word.push(*next);
                            i += 1;
                        }
                        None => phase = Phase::Word,
                    }
                } else {
                    word.push(ch);
                }
            }
            Phase::Spaces => {}
        }
        i += 1;
    }
    ("", flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> (String, Vec<String>, String) {
        split_command(line)
    }

    #[test]
    fn splits_flags_from_arguments() {
        assert_eq!(
            split("COPY --from=a --chown=\"x y\" src dst"),
            (
                "COPY".into(),
                vec!["--from=a".into(), "--chown=x y".into()],
                "src dst".into()
            )
        );
        assert_eq!(
            split("COPY -- --weird dst"),
            ("COPY".into(), vec![], "--weird dst".into())
        );
        assert_eq!(
            split("CMD --doit"),
            ("CMD".into(), vec!["--doit".into()], "".into())
        );
        assert_eq!(split("  run\tx  "), ("run".into(), vec![], "x".into()));
        assert_eq!(split("FROM"), ("FROM".into(), vec![], "".into()));
        assert_eq!(split("RUN -x"), ("RUN".into(), vec![], "-x".into()));
    }
}
