//! Shell glob patterns for `${V#p}`, `${V%p}` and `${V/p/r}`: `*`, `?`, `[...]` and the escape
//! token. Matching runs as a set-of-states simulation, so it is linear in the text per start
//! position and cannot blow up on `***...`.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

impl Token {
    fn accepts(&self, ch: char) -> bool {
        match self {
            Token::Literal(want) => *want == ch,
            Token::AnyChar | Token::AnyRun => true,
            Token::Class { negated, items } => {
                items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&ch)) != *negated
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    pub(super) fn new(text: &str, escape: char) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let ch = chars[i];
            i += 1;
            let token = match ch {
                '*' => Token::AnyRun,
                '?' => Token::AnyChar,
                '[' => match parse_class(&chars[i..], escape) {
                    Some((token, used)) => {
                        i += used;
                        token
                    }
                    None => Token::Literal('['),
                },
                _ if ch == escape && i < chars.len() => {
                    i += 1;
                    Token::Literal(chars[i - 1])
                }
                _ => Token::Literal(ch),
            };
            tokens.push(token);
        }
        Self { tokens }
    }

    fn reversed(&self) -> Self {
        Self {
            tokens: self.tokens.iter().rev().cloned().collect(),
        }
    }

    /// Every length `n` for which `text[..n]` matches the whole pattern, ascending.
    fn prefix_lengths(&self, text: &[char]) -> Vec<usize> {
        let mut states = vec![false; self.tokens.len() + 1];
        states[0] = true;
        self.close(&mut states);
        let mut lengths = Vec::new();
        for (consumed, ch) in text.iter().enumerate() {
            if states[self.tokens.len()] {
                lengths.push(consumed);
            }
            let mut next = vec![false; states.len()];
            for (i, token) in self.tokens.iter().enumerate() {
                if states[i] && token.accepts(*ch) {
                    let target = if *token == Token::AnyRun { i } else { i + 1 };
                    next[target] = true;
                }
            }
            self.close(&mut next);
            states = next;
            if !states.iter().any(|s| *s) {
                return lengths;
            }
        }
        if states[self.tokens.len()] {
            lengths.push(text.len());
        }
        lengths
    }

    /// A `*` may match nothing: reaching it also reaches what follows.
    fn close(&self, states: &mut [bool]) {
        for (i, token) in self.tokens.iter().enumerate() {
            if states[i] && *token == Token::AnyRun {
                states[i + 1] = true;
            }
        }
    }
}

/// Parses the inside of `[...]` (after the `[`); returns the class and the characters used.
fn parse_class(chars: &[char], escape: char) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let mut ch = *chars.get(i)?;
        i += 1;
        if ch == ']' && !first {
            return Some((Token::Class { negated, items }, i));
        }
        first = false;
        if ch == escape {
            ch = *chars.get(i)?;
            i += 1;
        }
        let mut hi = ch;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            hi = chars[i + 1];
            i += 2;
            if hi == escape {
                hi = *chars.get(i)?;
                i += 1;
            }
        }
        items.push((ch, hi));
    }
}

/// `${V#p}` / `${V##p}`: removes the shortest (or longest) matching prefix.
pub(super) fn trim_prefix(pattern: &Pattern, value: &str, greedy: bool) -> String {
    let text: Vec<char> = value.chars().collect();
    let lengths = pattern.prefix_lengths(&text);
    let cut = if greedy {
        lengths.last()
    } else {
        lengths.first()
    };
    match cut {
        Some(n) => text[*n..].iter().collect(),
        None => value.to_string(),
    }
}

/// `${V%p}` / `${V%%p}`: removes the shortest (or longest) matching suffix.
pub(super) fn trim_suffix(pattern: &Pattern, value: &str, greedy: bool) -> String {
    let reversed: Vec<char> = value.chars().rev().collect();
    let lengths = pattern.reversed().prefix_lengths(&reversed);
    let cut = if greedy {
        lengths.last()
    } else {
        lengths.first()
    };
    match cut {
        Some(n) => reversed[*n..].iter().rev().collect(),
        None => value.to_string(),
    }
}

/// `${V/p/r}` / `${V//p/r}`: replaces the first (or every) leftmost-longest non-empty match.
pub(super) fn replace(pattern: &Pattern, value: &str, replacement: &str, all: bool) -> String {
    let text: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut start = 0;
    let mut replaced = false;
    while start < text.len() {
        let longest = if replaced && !all {
            None
        } else {
            pattern
                .prefix_lengths(&text[start..])
                .last()
                .copied()
                .filter(|n| *n > 0)
        };
        match longest {
            Some(n) => {
                out.push_str(replacement);
                start += n;
                replaced = true;
            }
            None => {
                out.push(text[start]);
                start += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Pattern {
        Pattern::new(text, '\\')
    }

    #[test]
    fn prefix_and_suffix_trimming() {
        assert_eq!(trim_prefix(&p("*/"), "a/b/c", false), "b/c");
        assert_eq!(trim_prefix(&p("*/"), "a/b/c", true), "c");
        assert_eq!(trim_suffix(&p("/*"), "a/b/c", false), "a/b");
        assert_eq!(trim_suffix(&p("/*"), "a/b/c", true), "a");
        assert_eq!(trim_suffix(&p(".tar.gz"), "x.tar.gz", false), "x");
        assert_eq!(trim_prefix(&p("[ab]?"), "bcd", false), "d");
        assert_eq!(trim_prefix(&p("\\*"), "*x", false), "x");
        assert_eq!(trim_prefix(&p("zz"), "abc", true), "abc");
    }

    #[test]
    fn replacement() {
        assert_eq!(replace(&p("o"), "foo boo", "0", false), "f0o boo");
        assert_eq!(replace(&p("o"), "foo boo", "0", true), "f00 b00");
        assert_eq!(replace(&p("b*"), "abcb", "X", false), "aX");
        assert_eq!(replace(&p("[!a]"), "abc", "", true), "a");
    }
}
