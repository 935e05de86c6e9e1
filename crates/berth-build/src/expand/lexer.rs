//! The lexer proper: one pass over a word, expanding variables as it meets them.

use super::error::ExpandError;
use super::pattern::{Pattern, replace, trim_prefix, trim_suffix};
use super::vars::VarLookup;
use super::words::Words;

/// Shell-like word processor with BuildKit's rules. `escape` is the Dockerfile escape token
/// (`\` or `` ` ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_unset_env: bool,
}

impl Default for Lexer {
    fn default() -> Self {
        Self::new('\\')
    }
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
        }
    }

    /// Keep quote characters in the output (used to detect quoted heredoc delimiters).
    pub fn raw_quotes(mut self, on: bool) -> Self {
        self.raw_quotes = on;
        self
    }

    /// Keep escape tokens in the output instead of removing them.
    pub fn raw_escapes(mut self, on: bool) -> Self {
        self.raw_escapes = on;
        self
    }

    /// Leave references to unset variables as written instead of expanding them to "".
    pub fn skip_unset_env(mut self, on: bool) -> Self {
        self.skip_unset_env = on;
        self
    }

    pub fn escape_token(&self) -> char {
        self.escape
    }

    /// Expands `word` into one string (spaces between words kept).
    pub fn process_word(&self, word: &str, env: &dyn VarLookup) -> Result<String, ExpandError> {
        self.run(word, env).map(|(text, _)| text)
    }

    /// Expands `word` and splits the result into words, honouring quotes.
    pub fn process_words(
        &self,
        word: &str,
        env: &dyn VarLookup,
    ) -> Result<Vec<String>, ExpandError> {
        self.run(word, env).map(|(_, words)| words)
    }

    fn run(&self, word: &str, env: &dyn VarLookup) -> Result<(String, Vec<String>), ExpandError> {
        let mut scan = Scan {
            chars: word.chars().collect(),
            pos: 0,
            lexer: *self,
            raw_escapes: self.raw_escapes,
            env,
        };
        scan.until(&[], false)
            .map(|(text, words, _)| (text, words))
            .map_err(|fail| fail.into_error(word))
    }
}

/// A failure before the offending word is known; turned into [`ExpandError`] at the top.
#[derive(Debug)]
enum Fail {
    Unterminated(&'static str),
    MissingBrace,
    BadSubstitution,
    UnsupportedModifier(String),
    MissingColon,
    Required { name: String, message: String },
}

impl Fail {
    fn into_error(self, word: &str) -> ExpandError {
        let word = word.to_string();
        match self {
            Fail::Unterminated(what) => ExpandError::Unterminated {
                word,
                expected: what.to_string(),
            },
            Fail::MissingBrace => ExpandError::MissingBrace { word },
            Fail::BadSubstitution => ExpandError::BadSubstitution { word },
            Fail::UnsupportedModifier(modifier) => {
                ExpandError::UnsupportedModifier { word, modifier }
            }
            Fail::MissingColon => ExpandError::MissingColon { word },
            Fail::Required { name, message } => ExpandError::Required {
                word,
                name,
                message,
            },
        }
    }
}

struct Scan<'a> {
    chars: Vec<char>,
    pos: usize,
    lexer: Lexer,
    raw_escapes: bool,
    env: &'a dyn VarLookup,
}

impl Scan<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    /// Processes until one of `stops` (consumed, and returned) or the end of input; with stops,
    /// the end of input is an error. `raw_escapes` forces escapes to be kept (patterns).
    fn until(
        &mut self,
        stops: &[char],
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>, Option<char>), Fail> {
        let saved_raw = self.raw_escapes;
        if raw_escapes {
            self.raw_escapes = true;
        }
        let outcome = self.until_inner(stops);
        self.raw_escapes = saved_raw;
        outcome
    }

    fn until_inner(&mut self, stops: &[char]) -> Result<(String, Vec<String>, Option<char>), Fail> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if stops.contains(&ch) {
                self.pos += 1;
                return Ok((result, words.finish(), Some(ch)));
            }
            match ch {
                '\'' | '"' | '$' => {
                    let piece = match ch {
                        '\'' => self.single_quote()?,
                        '"' => self.double_quote()?,
                        _ => self.dollar()?,
                    };
                    result.push_str(&piece);
                    if ch == '$' {
                        words.add_string(&piece);
                    } else {
                        words.add_raw_string(&piece);
                    }
                }
                _ => {
                    self.pos += 1;
                    if ch == self.lexer.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // An escape token at the very end is dropped.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        // Stops are only ever `}` (possibly with `/` first): running out means no `}`.
        if stops.is_empty() {
            Ok((result, words.finish(), None))
        } else {
            Err(Fail::Unterminated("}"))
        }
    }

    fn single_quote(&mut self) -> Result<String, Fail> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => return Err(Fail::Unterminated("single-quote")),
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, Fail> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => return Err(Fail::Unterminated("double-quote")),
                Some('"') => {
                    self.pos += 1;
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                }
                Some(ch) => {
                    self.pos += 1;
                    if ch == self.lexer.escape {
                        match self.peek() {
                            // A trailing escape inside quotes is dropped.
                            None => continue,
                            // Only these can be escaped inside double quotes.
                            Some(next) if next == '"' || next == '$' || next == ch => {
                                if self.raw_escapes {
                                    result.push(ch);
                                }
                                self.pos += 1;
                                result.push(next);
                            }
                            Some(_) => result.push(ch),
                        }
                    } else {
                        result.push(ch);
                    }
                }
            }
        }
    }

    fn dollar(&mut self) -> Result<String, Fail> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.env.lookup(&name) {
                Some(value) => value.to_string(),
                None if self.lexer.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(Fail::MissingBrace),
            Some('{' | '}' | ':') => return Err(Fail::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        let value = self.env.lookup(&name).map(str::to_string);
        match self.next() {
            Some('}') => Ok(match value {
                Some(value) => value,
                None if self.lexer.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':') => {
                let modifier = self.next();
                match modifier {
                    Some(op @ ('-' | '+' | '?')) => self.modifier(&name, value, op, true),
                    other => {
                        let mut text = String::from(":");
                        text.extend(other);
                        Err(Fail::UnsupportedModifier(text))
                    }
                }
            }
            Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.modifier(&name, value, op, false),
            Some('/') => self.substitute(&name, value),
            Some(_) => Err(Fail::MissingColon),
            None => Err(Fail::MissingBrace),
        }
    }

    /// `${name<op>word}` and `${name:<op>word}` (`null_is_unset`).
    fn modifier(
        &mut self,
        name: &str,
        value: Option<String>,
        op: char,
        null_is_unset: bool,
    ) -> Result<String, Fail> {
        let pattern_like = op == '#' || op == '%';
        let word = self.word_until_brace(pattern_like)?;
        let Some(value) = value else {
            if self.lexer.skip_unset_env {
                let colon = if null_is_unset { ":" } else { "" };
                return Ok(format!("${{{name}{colon}{op}{word}}}"));
            }
            return match op {
                '-' => Ok(word),
                '+' => Ok(String::new()),
                '?' => Err(Fail::Required {
                    name: name.to_string(),
                    message: non_empty_or(word, "is not allowed to be unset"),
                }),
                _ => Ok(String::new()),
            };
        };
        let empty = null_is_unset && value.is_empty();
        match op {
            '-' => Ok(if empty { word } else { value }),
            '+' => Ok(if empty { String::new() } else { word }),
            '?' if empty => Err(Fail::Required {
                name: name.to_string(),
                message: non_empty_or(word, "is not allowed to be empty"),
            }),
            '?' => Ok(value),
            _ => {
                // `##`/`%%` remove the longest match, `#`/`%` the shortest.
                let (greedy, pattern_text) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let pattern = Pattern::new(pattern_text, self.lexer.escape);
                Ok(if op == '#' {
                    trim_prefix(&pattern, &value, greedy)
                } else {
                    trim_suffix(&pattern, &value, greedy)
                })
            }
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn substitute(&mut self, name: &str, value: Option<String>) -> Result<String, Fail> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let (pattern_text, _, stop) = self.checked_until(&['/', '}'], true)?;
        let replacement = if stop == Some('/') {
            self.word_until_brace(false)?
        } else {
            String::new()
        };
        let Some(value) = value else {
            if self.lexer.skip_unset_env {
                let slashes = if all { "//" } else { "/" };
                return Ok(format!("${{{name}{slashes}{pattern_text}/{replacement}}}"));
            }
            return Ok(String::new());
        };
        let pattern = Pattern::new(&pattern_text, self.lexer.escape);
        Ok(replace(&pattern, &value, &replacement, all))
    }

    fn word_until_brace(&mut self, raw_escapes: bool) -> Result<String, Fail> {
        self.checked_until(&['}'], raw_escapes)
            .map(|(word, _, _)| word)
    }

    /// Like [`Scan::until`], reporting a missing `}` when the input ran out.
    fn checked_until(
        &mut self,
        stops: &[char],
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>, Option<char>), Fail> {
        self.until(stops, raw_escapes).map_err(|fail| {
            if self.peek().is_none() {
                Fail::MissingBrace
            } else {
                fail
            }
        })
    }

    /// A variable name: letters, digits and `_`; or all leading digits (positional parameters);
    /// or one special parameter character.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(digit) = self.peek().filter(char::is_ascii_digit) {
                    name.push(digit);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.pos += 1;
                return ch.to_string();
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            name.push(ch);
            self.pos += 1;
        }
        name
    }
}

fn non_empty_or(word: String, default: &str) -> String {
    if word.is_empty() {
        default.to_string()
    } else {
        word
    }
}

fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}
