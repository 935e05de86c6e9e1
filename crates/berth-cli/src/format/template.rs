//! A subset of Go's text/template, enough for Docker's `--format`: field chains (`.A.B`),
//! pipelines with `|`, literals, parentheses, `if`/`else`/`range`/`with`/`end`, and Docker's
//! functions (json, join, split, lower, upper, title, pad, truncate, println, index, len, eq,
//! ne, not, and, or, printf with %s/%v/%d/%q). Data is JSON; values print as Go's `%v` would.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template parsing error: {reason} (in {template:?})")]
    Parse { template: String, reason: String },
    #[error("template: executing: {reason}")]
    Exec { reason: String },
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Print(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

type Pipeline = Vec<Command>;

#[derive(Debug, Clone)]
enum Command {
    Call(String, Vec<Term>),
    Method(Vec<String>, Vec<Term>),
    Term(Term),
}

#[derive(Debug, Clone)]
enum Term {
    Field(Vec<String>),
    Literal(Value),
    Nested(Pipeline),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let err = |reason: String| TemplateError::Parse {
            template: source.to_owned(),
            reason,
        };
        let tokens = split_actions(source).map_err(err)?;
        let mut pos = 0;
        let (nodes, end) = parse_nodes(&tokens, &mut pos).map_err(err)?;
        match end {
            Some(word) => Err(err(format!("unexpected {{{{{word}}}}}"))),
            None => Ok(Template { nodes }),
        }
    }

    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        run(&self.nodes, data, &mut out).map_err(|reason| TemplateError::Exec { reason })?;
        Ok(out)
    }
}

enum Token {
    Text(String),
    Action(String),
}

/// Splits text from `{{ actions }}`, honouring `{{-` / `-}}` whitespace trimming.
fn split_actions(source: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = source;
    let mut trim_next_text = false;
    while !rest.is_empty() {
        let (text, after) = match rest.find("{{") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        let mut text = if trim_next_text {
            text.trim_start()
        } else {
            text
        };
        let Some(after) = after else {
            tokens.push(Token::Text(text.to_owned()));
            break;
        };
        let (trim_left, body) = match after.strip_prefix("- ") {
            Some(body) => (true, body),
            None => (false, after),
        };
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            tokens.push(Token::Text(text.to_owned()));
        }
        let close = find_close(body).ok_or("unclosed action")?;
        let mut inner = &body[..close];
        trim_next_text = inner.ends_with(" -");
        if trim_next_text {
            inner = &inner[..inner.len() - 2];
        }
        tokens.push(Token::Action(inner.trim().to_owned()));
        rest = &body[close + 2..];
    }
    Ok(tokens)
}

/// The `}}` closing an action, skipping those inside string literals.
fn find_close(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'"' | b'`') => quote = Some(bytes[i]),
            (None, b'}') if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses nodes up to an `else`/`end` (returned as the terminator word).
fn parse_nodes(tokens: &[Token], pos: &mut usize) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while *pos < tokens.len() {
        let token = &tokens[*pos];
        *pos += 1;
        let action = match token {
            Token::Text(t) => {
                nodes.push(Node::Text(t.clone()));
                continue;
            }
            Token::Action(a) => a.as_str(),
        };
        if action.starts_with("/*") {
            continue;
        }
        let (word, rest) = action
            .split_once(char::is_whitespace)
            .unwrap_or((action, ""));
        match word {
            "end" | "else" => return Ok((nodes, Some(action.to_owned()))),
            "if" | "range" | "with" => {
                let pipeline = parse_pipeline(rest)?;
                let (body, end) = parse_nodes(tokens, pos)?;
                let otherwise = match end.as_deref() {
                    Some("end") => Vec::new(),
                    Some("else") => match parse_nodes(tokens, pos)? {
                        (otherwise, Some(e)) if e == "end" => otherwise,
                        _ => return Err(format!("missing {{{{end}}}} for {word}")),
                    },
                    _ => return Err(format!("missing {{{{end}}}} for {word}")),
                };
                nodes.push(match word {
                    "if" => Node::If(pipeline, body, otherwise),
                    "range" => Node::Range(pipeline, body, otherwise),
                    _ => Node::With(pipeline, body, otherwise),
                });
            }
            _ => nodes.push(Node::Print(parse_pipeline(action)?)),
        }
    }
    Ok((nodes, None))
}

fn parse_pipeline(source: &str) -> Result<Pipeline, String> {
    let mut lexer = Lexer { rest: source };
    let pipeline = lexer.pipeline()?;
    if !lexer.rest.trim().is_empty() {
        return Err(format!("unexpected {:?}", lexer.rest.trim()));
    }
    Ok(pipeline)
}

struct Lexer<'a> {
    rest: &'a str,
}

impl Lexer<'_> {
    fn pipeline(&mut self) -> Result<Pipeline, String> {
        let mut commands = Vec::new();
        loop {
            commands.push(self.command()?);
            self.rest = self.rest.trim_start();
            match self.rest.strip_prefix('|') {
                Some(rest) => self.rest = rest,
                None => return Ok(commands),
            }
        }
    }

    fn command(&mut self) -> Result<Command, String> {
        self.rest = self.rest.trim_start();
        let ident_len = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let ident = &self.rest[..ident_len];
        if ident_len > 0
            && ident.starts_with(|c: char| c.is_ascii_alphabetic())
            && !matches!(ident, "true" | "false" | "nil")
        {
            if !super::funcs::exists(ident) {
                return Err(format!("function {ident:?} not defined"));
            }
            let name = ident.to_owned();
            self.rest = &self.rest[ident_len..];
            let mut args = Vec::new();
            while let Some(term) = self.term()? {
                args.push(term);
            }
            return Ok(Command::Call(name, args));
        }
        match self.term()? {
            // `.Label "key"`: a method of docker's formatting contexts, called with arguments.
            Some(Term::Field(fields)) => {
                let mut args = Vec::new();
                while let Some(term) = self.term()? {
                    args.push(term);
                }
                if args.is_empty() {
                    Ok(Command::Term(Term::Field(fields)))
                } else {
                    Ok(Command::Method(fields, args))
                }
            }
            Some(term) => Ok(Command::Term(term)),
            None => Err(format!("missing value in {:?}", self.rest)),
        }
    }

    /// One argument, or `None` at `|`, `)` or the end.
    fn term(&mut self) -> Result<Option<Term>, String> {
        self.rest = self.rest.trim_start();
        let Some(first) = self.rest.chars().next() else {
            return Ok(None);
        };
        match first {
            '|' | ')' => Ok(None),
            '(' => {
                self.rest = &self.rest[1..];
                let inner = self.pipeline()?;
                self.rest = self.rest.trim_start();
                self.rest = self.rest.strip_prefix(')').ok_or("unclosed (")?;
                Ok(Some(Term::Nested(inner)))
            }
            '.' | '$' => {
                let end = self
                    .rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '|' | ')' | '('))
                    .unwrap_or(self.rest.len());
                let chain = &self.rest[..end];
                self.rest = &self.rest[end..];
                let chain = chain.trim_start_matches('$');
                let fields = chain
                    .split('.')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect();
                Ok(Some(Term::Field(fields)))
            }
            '"' => {
                let close = find_close_quote(self.rest).ok_or("unterminated string")?;
                let literal = &self.rest[..=close];
                self.rest = &self.rest[close + 1..];
                let value: String =
                    serde_json::from_str(literal).map_err(|_| format!("bad string {literal}"))?;
                Ok(Some(Term::Literal(Value::String(value))))
            }
            '`' => {
                let close = self.rest[1..].find('`').ok_or("unterminated raw string")? + 1;
                let literal = self.rest[1..close].to_owned();
                self.rest = &self.rest[close + 1..];
                Ok(Some(Term::Literal(Value::String(literal))))
            }
            _ => {
                let end = self
                    .rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '|' | ')'))
                    .unwrap_or(self.rest.len());
                let word = &self.rest[..end];
                self.rest = &self.rest[end..];
                let value = match word {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "nil" => Value::Null,
                    _ => serde_json::from_str::<serde_json::Number>(word)
                        .map(Value::Number)
                        .map_err(|_| format!("function {word:?} not defined"))?,
                };
                Ok(Some(Term::Literal(value)))
            }
        }
    }
}

fn find_close_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn run(nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(p) => out.push_str(&super::gofmt::print(&eval_pipeline(p, dot)?)),
            Node::If(p, yes, no) => {
                let cond = eval_pipeline(p, dot)?;
                run(if truthy(&cond) { yes } else { no }, dot, out)?;
            }
            Node::With(p, yes, no) => {
                let value = eval_pipeline(p, dot)?;
                if truthy(&value) {
                    run(yes, &value, out)?;
                } else {
                    run(no, dot, out)?;
                }
            }
            Node::Range(p, body, otherwise) => {
                let items: Vec<Value> = match eval_pipeline(p, dot)? {
                    Value::Array(items) => items,
                    Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
                    Value::Null => Vec::new(),
                    other => {
                        return Err(format!(
                            "range can't iterate over {}",
                            super::gofmt::print(&other)
                        ));
                    }
                };
                if items.is_empty() {
                    run(otherwise, dot, out)?;
                }
                for item in &items {
                    run(body, item, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval_pipeline(pipeline: &Pipeline, dot: &Value) -> Result<Value, String> {
    let mut piped: Option<Value> = None;
    for command in pipeline {
        let value = match command {
            Command::Term(term) => {
                if piped.is_some() {
                    return Err("can't give argument to non-function".to_owned());
                }
                eval_term(term, dot)?
            }
            Command::Method(fields, args) => {
                let (method, path) = fields.split_last().ok_or("empty method call")?;
                let receiver = eval_term(&Term::Field(path.to_vec()), dot)?;
                let mut values = args
                    .iter()
                    .map(|a| eval_term(a, dot))
                    .collect::<Result<Vec<_>, _>>()?;
                values.extend(piped.take());
                call_method(&receiver, method, &values)?
            }
            Command::Call(name, args) => {
                let mut values = args
                    .iter()
                    .map(|a| eval_term(a, dot))
                    .collect::<Result<Vec<_>, _>>()?;
                values.extend(piped.take());
                super::funcs::call(name, values)?
            }
        };
        piped = Some(value);
    }
    Ok(piped.unwrap_or(Value::Null))
}

fn eval_term(term: &Term, dot: &Value) -> Result<Value, String> {
    match term {
        Term::Literal(v) => Ok(v.clone()),
        Term::Nested(p) => eval_pipeline(p, dot),
        Term::Field(fields) => {
            let mut current = dot;
            for field in fields {
                current = match current {
                    Value::Object(map) => match map.get(field) {
                        Some(Value::Null) => return Ok(super::gofmt::null_field(field)),
                        Some(v) => v,
                        None => return Ok(super::gofmt::no_value()),
                    },
                    Value::Null => return Ok(Value::Null),
                    other => {
                        return Err(format!(
                            "can't evaluate field {field} in type {}",
                            super::gofmt::type_name(other)
                        ));
                    }
                };
            }
            Ok(current.clone())
        }
    }
}

/// The one method docker's contexts offer with an argument: `.Label "key"`, over a `Labels`
/// map (inspect) or docker's joined `k=v,k2=v2` string (ps).
fn call_method(receiver: &Value, method: &str, args: &[Value]) -> Result<Value, String> {
    let [key] = args else {
        return Err(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        ));
    };
    if method != "Label" {
        return Err(format!(
            "can't call method/function {method:?} with arguments"
        ));
    }
    let key = super::gofmt::print(key);
    let value = match &receiver["Labels"] {
        Value::Object(map) => map.get(&key).and_then(Value::as_str).map(str::to_owned),
        Value::String(joined) => joined
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned()),
        _ => None,
    };
    Ok(Value::String(value.unwrap_or_default()))
}

/// Go's truth: false, 0, nil and empty values are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty() && !super::gofmt::is_nil_sentinel(v),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests;
