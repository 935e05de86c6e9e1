//! Printing JSON values the way Go's `%v` prints the decoded values in a template.

use serde_json::Value;

/// What a missing map key evaluates to; prints as Go's `<no value>`.
const NO_VALUE: &str = "\u{0}<no value>";

/// A null where Docker's typed structs have a slice (prints `[]`) or a map (prints `map[]`).
const NIL_SLICE: &str = "\u{0}<nil slice>";
const NIL_MAP: &str = "\u{0}<nil map>";

/// Fields of Docker's inspect types that are slices or maps, so a JSON null prints as Go
/// prints the nil value of that type rather than `<nil>`.
const SLICE_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "Binds",
    "CapAdd",
    "CapDrop",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "Links",
    "SecurityOpt",
    "Devices",
    "Ulimits",
    "Mounts",
    "Args",
    "OnBuild",
    "Shell",
    "RepoTags",
    "RepoDigests",
    "GroupAdd",
    "VolumesFrom",
    "DeviceRequests",
    "DeviceCgroupRules",
    "MaskedPaths",
    "ReadonlyPaths",
    "Layers",
    "Aliases",
    "Secondary",
];
const MAP_FIELDS: &[&str] = &[
    "Labels",
    "Volumes",
    "ExposedPorts",
    "Tmpfs",
    "StorageOpt",
    "Sysctls",
    "Options",
    "PortBindings",
    "Ports",
    "Networks",
    "DriverOpts",
    "Annotations",
];

/// The value a field holding JSON null evaluates to.
pub fn null_field(field: &str) -> Value {
    if SLICE_FIELDS.contains(&field) {
        Value::String(NIL_SLICE.to_owned())
    } else if MAP_FIELDS.contains(&field) {
        Value::String(NIL_MAP.to_owned())
    } else {
        Value::Null
    }
}

/// A sentinel standing for nil (missing value, nil slice, nil map).
pub fn is_nil_sentinel(v: &Value) -> bool {
    matches!(v, Value::String(s) if s == NO_VALUE || s == NIL_SLICE || s == NIL_MAP)
}

pub fn no_value() -> Value {
    Value::String(NO_VALUE.to_owned())
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// `%v`: strings bare, slices `[a b]`, maps `map[k:v]` (keys sorted, as Go prints maps).
pub fn print(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&go_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) if s == NO_VALUE => out.push_str("<no value>"),
        Value::String(s) if s == NIL_SLICE => out.push_str("[]"),
        Value::String(s) if s == NIL_MAP => out.push_str("map[]"),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write(&map[key], out);
            }
            out.push(']');
        }
    }
}

/// Go's `%v` of a float64: shortest representation, exponent form for large/small values.
fn go_float(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e21 {
        let s = format!("{f}");
        if f.abs() >= 1e21 || s.len() > 21 {
            return format!("{f:e}");
        }
        return s;
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_go() {
        assert_eq!(print(&json!("x")), "x");
        assert_eq!(print(&json!(["A=1", "B=2"])), "[A=1 B=2]");
        assert_eq!(print(&json!({"b": 1, "a": true})), "map[a:true b:1]");
        assert_eq!(print(&json!(null)), "<nil>");
        assert_eq!(print(&no_value()), "<no value>");
        assert_eq!(print(&json!(1.5)), "1.5");
        assert_eq!(print(&json!(-3)), "-3");
    }
}
