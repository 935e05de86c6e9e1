//! One ignore pattern compiled to a small NFA. Syntax (moby patternmatcher): `*` any run
//! without `/`, `?` one character but `/`, `[...]`/`[^...]` classes, `\` escapes, `**` any number
//! of path elements (`**/` also matches none), a trailing `**` anything.

use super::clean::clean_path;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
    #[error("syntax error in pattern {pattern:?}: {reason}")]
    Syntax {
        pattern: String,
        reason: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CharSet {
    Literal(char),
    NotSlash,
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl CharSet {
    fn accepts(&self, ch: char) -> bool {
        match self {
            CharSet::Literal(want) => *want == ch,
            CharSet::NotSlash => ch != '/',
            CharSet::Any => true,
            CharSet::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&ch)) != *negated
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Step(CharSet, usize),
    Split(usize, usize),
    Accept,
}

/// A compiled pattern. `exclusion` is true for `!pattern` (an exception that re-includes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    exclusion: bool,
    states: Vec<State>,
    /// The pattern's only match when it has no wildcards: a string compare is enough.
    literal: Option<String>,
}

impl Pattern {
    /// Compiles one pattern (trimmed and cleaned here; `!` marks an exception). A leading `/`
    /// is dropped as the ignore-file reader does, since paths are relative to the context.
    pub fn new(raw: &str) -> Result<Self, PatternError> {
        let cleaned = clean_path(raw.trim());
        let (exclusion, body) = match cleaned.strip_prefix('!') {
            Some("") => return Err(PatternError::LoneExclamation),
            Some(rest) => (true, rest.to_string()),
            None => (false, cleaned),
        };
        let body = match body.strip_prefix('/') {
            Some(rest) if !rest.is_empty() => rest.to_string(),
            _ => body,
        };
        let states = compile(&body)?;
        let literal = states
            .iter()
            .map(|state| match state {
                State::Step(CharSet::Literal(ch), _) => Some(Some(*ch)),
                State::Accept => Some(None),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|chars| chars.into_iter().flatten().collect());
        Ok(Self {
            text: body,
            exclusion,
            states,
            literal,
        })
    }

    /// The pattern without its `!`.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// Whether the whole of `path` (relative, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        if let Some(literal) = &self.literal {
            return literal == path;
        }
        self.run(path).is_some_and(|set| set[self.states.len() - 1])
    }

    /// Whether some path starting with `prefix` could match (the NFA is still alive).
    pub fn could_match_with_prefix(&self, prefix: &str) -> bool {
        if let Some(literal) = &self.literal {
            return literal.starts_with(prefix);
        }
        self.run(prefix).is_some_and(|set| set.iter().any(|s| *s))
    }

    fn run(&self, text: &str) -> Option<Vec<bool>> {
        let mut current = vec![false; self.states.len()];
        let mut next = vec![false; self.states.len()];
        let mut stack = Vec::new();
        self.add(&mut current, 0, &mut stack);
        for ch in text.chars() {
            next.fill(false);
            let mut alive = false;
            for (index, state) in self.states.iter().enumerate() {
                if let (true, State::Step(set, to)) = (current[index], state)
                    && set.accepts(ch)
                {
                    self.add(&mut next, *to, &mut stack);
                    alive = true;
                }
            }
            if !alive {
                return None;
            }
            std::mem::swap(&mut current, &mut next);
        }
        Some(current)
    }

    /// Adds `index` and everything reachable from it without consuming input.
    fn add(&self, set: &mut [bool], index: usize, stack: &mut Vec<usize>) {
        stack.clear();
        stack.push(index);
        while let Some(i) = stack.pop() {
            if set[i] {
                continue;
            }
            set[i] = true;
            if let State::Split(a, b) = self.states[i] {
                stack.push(a);
                stack.push(b);
            }
        }
    }
}

fn compile(pattern: &str) -> Result<Vec<State>, PatternError> {
    let syntax = |reason| PatternError::Syntax {
        pattern: pattern.to_string(),
        reason,
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut states = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        let base = states.len();
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    // Trailing `**`: anything at all.
                    states.push(State::Split(base + 1, base + 2));
                    states.push(State::Step(CharSet::Any, base));
                } else {
                    // `**/`: nothing, or any run ending in `/`.
                    states.push(State::Split(base + 1, base + 4));
                    states.push(State::Split(base + 2, base + 3));
                    states.push(State::Step(CharSet::Any, base + 1));
                    states.push(State::Step(CharSet::Literal('/'), base + 4));
                }
            }
            '*' => {
                states.push(State::Split(base + 1, base + 2));
                states.push(State::Step(CharSet::NotSlash, base));
            }
            '?' => states.push(State::Step(CharSet::NotSlash, base + 1)),
            '[' => {
                let (set, used) = parse_class(&chars[i..]).map_err(syntax)?;
                i += used;
                states.push(State::Step(set, base + 1));
            }
            '\\' => {
                let escaped = *chars.get(i).ok_or_else(|| syntax("trailing backslash"))?;
                i += 1;
                states.push(State::Step(CharSet::Literal(escaped), base + 1));
            }
            _ => states.push(State::Step(CharSet::Literal(ch), base + 1)),
        }
    }
    states.push(State::Accept);
    Ok(states)
}

/// `[^a-z\]]` after the `[`: returns the set and the characters consumed (`]` included).
fn parse_class(chars: &[char]) -> Result<(CharSet, usize), &'static str> {
    let mut i = 0;
    let negated = chars.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        match chars.get(i) {
            None => return Err("unterminated character class"),
            Some(']') if !ranges.is_empty() => {
                return Ok((CharSet::Class { negated, ranges }, i + 1));
            }
            _ => {}
        }
        let (lo, used) = class_char(&chars[i..])?;
        i += used;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (end, used) = class_char(&chars[i + 1..])?;
            hi = end;
            i += 1 + used;
            if hi < lo {
                return Err("character range out of order");
            }
        }
        ranges.push((lo, hi));
    }
}

/// One possibly escaped class character; an unescaped `-` or `]` here is malformed.
fn class_char(chars: &[char]) -> Result<(char, usize), &'static str> {
    match chars {
        [] => Err("unterminated character class"),
        ['-' | ']', ..] => Err("malformed character class"),
        ['\\', escaped, ..] => Ok((*escaped, 2)),
        ['\\'] => Err("unterminated character class"),
        [ch, ..] => Ok((*ch, 1)),
    }
}
