//! The functions Docker's templates offer (docker/cli templates.basicFunctions) plus Go's
//! builtins that people use in `--format`.

use serde_json::Value;

use super::gofmt::{is_nil_sentinel, print};
use super::template::truthy;

const NAMES: &[&str] = &[
    "json", "lower", "upper", "title", "join", "split", "pad", "truncate", "println", "print",
    "printf", "len", "index", "eq", "ne", "not", "and", "or",
];

pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

pub fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    let string = |v: &Value| print(v);
    Ok(match name {
        "json" => {
            arity(1)?;
            if is_nil_sentinel(&args[0]) {
                Value::String("null".to_owned())
            } else {
                Value::String(serde_json::to_string(&args[0]).map_err(|e| e.to_string())?)
            }
        }
        "lower" => {
            arity(1)?;
            Value::String(string(&args[0]).to_lowercase())
        }
        "upper" => {
            arity(1)?;
            Value::String(string(&args[0]).to_uppercase())
        }
        "title" => {
            arity(1)?;
            Value::String(title(&string(&args[0])))
        }
        "join" => {
            arity(2)?;
            let sep = string(&args[1]);
            let parts: Vec<String> = match &args[0] {
                Value::Array(items) => items.iter().map(print).collect(),
                other => vec![print(other)],
            };
            Value::String(parts.join(&sep))
        }
        "split" => {
            arity(2)?;
            let (s, sep) = (string(&args[0]), string(&args[1]));
            Value::Array(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            )
        }
        "pad" => {
            arity(3)?;
            let left = args[1].as_u64().unwrap_or(0) as usize;
            let right = args[2].as_u64().unwrap_or(0) as usize;
            Value::String(format!(
                "{}{}{}",
                " ".repeat(left),
                string(&args[0]),
                " ".repeat(right)
            ))
        }
        "truncate" => {
            arity(2)?;
            let n = args[1].as_u64().unwrap_or(0) as usize;
            Value::String(string(&args[0]).chars().take(n).collect())
        }
        "println" => Value::String(args.iter().map(print).collect::<Vec<_>>().join(" ") + "\n"),
        "print" => Value::String(args.iter().map(print).collect::<String>()),
        "printf" => printf(&args)?,
        "len" => {
            arity(1)?;
            let n = match &args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                Value::Null => 0,
                other => return Err(format!("len of {}", print(other))),
            };
            Value::from(n)
        }
        "index" => {
            let (first, keys) = args.split_first().ok_or("index of nothing")?;
            let mut current = first.clone();
            for key in keys {
                current = match (&current, key) {
                    (Value::Object(map), k) => map
                        .get(&string(k))
                        .cloned()
                        .unwrap_or(Value::String(String::new())),
                    (Value::Array(items), Value::Number(n)) => n
                        .as_u64()
                        .and_then(|i| items.get(i as usize).cloned())
                        .ok_or_else(|| format!("index out of range: {n}"))?,
                    (Value::Null, _) => Value::String(String::new()),
                    (other, _) => {
                        return Err(format!(
                            "can't index item of type {}",
                            super::gofmt::type_name(other)
                        ));
                    }
                };
            }
            current
        }
        "eq" => Value::Bool(args.len() >= 2 && args[1..].iter().any(|a| same(&args[0], a))),
        "ne" => {
            arity(2)?;
            Value::Bool(!same(&args[0], &args[1]))
        }
        "not" => {
            arity(1)?;
            Value::Bool(!truthy(&args[0]))
        }
        "and" => args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        _ => return Err(format!("function {name:?} not defined")),
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !c.is_alphanumeric();
    }
    out
}

/// printf with the verbs people use in formats: %s %v %d %q %%.
fn printf(args: &[Value]) -> Result<Value, String> {
    let (format, rest) = args.split_first().ok_or("printf needs a format")?;
    let format = print(format);
    let mut out = String::new();
    let mut values = rest.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'v' | 'd' | 'q')) => {
                let value = values
                    .next()
                    .map(print)
                    .unwrap_or_else(|| format!("%!{verb}(MISSING)"));
                if verb == 'q' {
                    out.push_str(&serde_json::to_string(&value).map_err(|e| e.to_string())?);
                } else {
                    out.push_str(&value);
                }
            }
            Some(other) => return Err(format!("printf verb %{other} is not supported")),
            None => out.push('%'),
        }
    }
    Ok(Value::String(out))
}
