//! `RUN --mount=type=...,key=value` parsed and checked per mount type, as BuildKit does.

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

/// Owner and permissions of files a mount creates (cache, secret, ssh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileInfo {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    Bind {
        target: String,
        source: Option<String>,
        from: Option<String>,
        read_only: bool,
    },
    Cache {
        target: String,
        id: Option<String>,
        sharing: CacheSharing,
        from: Option<String>,
        source: Option<String>,
        read_only: bool,
        file_info: FileInfo,
    },
    Tmpfs {
        target: String,
        size: Option<u64>,
    },
    Secret {
        id: Option<String>,
        target: Option<String>,
        env: Option<String>,
        required: bool,
        file_info: FileInfo,
    },
    Ssh {
        id: Option<String>,
        target: Option<String>,
        required: bool,
        file_info: FileInfo,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bind => "bind",
            Kind::Cache => "cache",
            Kind::Tmpfs => "tmpfs",
            Kind::Secret => "secret",
            Kind::Ssh => "ssh",
        }
    }
}

#[derive(Default)]
struct Fields {
    target: Option<String>,
    source: Option<String>,
    from: Option<String>,
    id: Option<String>,
    env: Option<String>,
    sharing: Option<CacheSharing>,
    size: Option<u64>,
    read_only: Option<bool>,
    required: bool,
    file_info: FileInfo,
}

/// Parses one `--mount` value; `expand` is applied to each value (identity when parsing,
/// the stage's variables when expanding). Errors are human-readable reasons.
pub fn parse_mount(
    spec: &str,
    expand: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Mount, String> {
    let mut kind = Kind::Bind;
    let mut f = Fields::default();
    for field in split_csv(spec)? {
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key.to_ascii_lowercase(), Some(value)),
            None => (field.to_ascii_lowercase(), None),
        };
        let Some(value) = value else {
            match key.as_str() {
                "readonly" | "ro" => f.read_only = Some(true),
                "readwrite" | "rw" => f.read_only = Some(false),
                "required" if matches!(kind, Kind::Secret | Kind::Ssh) => f.required = true,
                "required" => return Err(unexpected_key(&key, kind)),
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let value = expand(value)?;
        match key.as_str() {
            "type" => {
                kind = match value.to_ascii_lowercase().as_str() {
                    "bind" => Kind::Bind,
                    "cache" => Kind::Cache,
                    "tmpfs" => Kind::Tmpfs,
                    "secret" => Kind::Secret,
                    "ssh" => Kind::Ssh,
                    _ => return Err(format!("unsupported mount type {value:?}")),
                }
            }
            "from" => f.from = Some(value),
            "source" | "src" => f.source = Some(value),
            "target" | "dst" | "destination" => f.target = Some(value),
            "readonly" | "ro" => f.read_only = Some(parse_bool(&key, &value)?),
            "readwrite" | "rw" => f.read_only = Some(!parse_bool(&key, &value)?),
            "required" if matches!(kind, Kind::Secret | Kind::Ssh) => {
                f.required = parse_bool(&key, &value)?;
            }
            "size" if kind == Kind::Tmpfs => f.size = Some(parse_ram_size(&value)?),
            "id" => f.id = Some(value),
            "sharing" if kind == Kind::Cache => {
                f.sharing = Some(match value.to_ascii_lowercase().as_str() {
                    "shared" => CacheSharing::Shared,
                    "private" => CacheSharing::Private,
                    "locked" => CacheSharing::Locked,
                    _ => return Err(format!("unrecognized sharing parameter {value:?}")),
                });
            }
            "mode" => f.file_info.mode = Some(parse_u32(&key, &value, 8)?),
            "uid" => f.file_info.uid = Some(parse_u32(&key, &value, 10)?),
            "gid" => f.file_info.gid = Some(parse_u32(&key, &value, 10)?),
            "env" if kind == Kind::Secret => f.env = Some(value),
            "required" | "size" | "sharing" | "env" => return Err(unexpected_key(&key, kind)),
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    build(kind, f)
}

fn build(kind: Kind, f: Fields) -> Result<Mount, String> {
    let file_info_allowed = matches!(kind, Kind::Secret | Kind::Ssh | Kind::Cache);
    if !file_info_allowed && f.file_info != FileInfo::default() {
        return Err(format!(
            "mode, uid and gid are not allowed for {:?} type mounts",
            kind.name()
        ));
    }
    if f.sharing.is_some() && kind != Kind::Cache {
        return Err(format!(
            "invalid cache sharing set for {} mount",
            kind.name()
        ));
    }
    let require_target = |target: Option<String>| match target {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(format!("{} mount requires a target", kind.name())),
    };
    Ok(match kind {
        Kind::Bind => Mount::Bind {
            target: require_target(f.target)?,
            source: f.source,
            from: f.from,
            read_only: f.read_only.unwrap_or(true),
        },
        Kind::Cache => Mount::Cache {
            target: require_target(f.target)?,
            id: f.id,
            sharing: f.sharing.unwrap_or(CacheSharing::Shared),
            from: f.from,
            source: f.source,
            read_only: f.read_only.unwrap_or(false),
            file_info: f.file_info,
        },
        Kind::Tmpfs => Mount::Tmpfs {
            target: require_target(f.target)?,
            size: f.size,
        },
        Kind::Secret | Kind::Ssh => {
            if f.from.is_some() {
                return Err(format!("{} mount should not have a from", kind.name()));
            }
            if f.source.is_some() {
                return Err(format!("{} source not supported", kind.name()));
            }
            if kind == Kind::Secret {
                if f.id.is_none() && f.target.is_none() && f.env.is_none() {
                    return Err("secret mount requires an id, a target or an env".to_string());
                }
                Mount::Secret {
                    id: f.id,
                    target: f.target,
                    env: f.env,
                    required: f.required,
                    file_info: f.file_info,
                }
            } else {
                Mount::Ssh {
                    id: f.id,
                    target: f.target,
                    required: f.required,
                    file_info: f.file_info,
                }
            }
        }
    })
}

fn unexpected_key(key: &str, kind: Kind) -> String {
    format!("unexpected key '{key}' for mount type '{}'", kind.name())
}

fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {value:?}")),
    }
}

fn parse_u32(key: &str, value: &str, radix: u32) -> Result<u32, String> {
    u32::from_str_radix(value, radix).map_err(|_| format!("invalid value for {key}: {value:?}"))
}

/// Docker's `units.RAMInBytes`: `64m`, `1.5g`, `512kb`, `1024` (binary multiples).
fn parse_ram_size(value: &str) -> Result<u64, String> {
    let bad = || format!("invalid size: {value:?}");
    let number_len = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(number_len);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim_start_matches(' ').to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(bad()),
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Splits one CSV record (Go `encoding/csv` rules: `"` quotes a field, `""` is a quote).
fn split_csv(spec: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = spec.chars().peekable();
    let mut at_field_start = true;
    while let Some(ch) = chars.next() {
        match ch {
            '"' if at_field_start => {
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => field.push(c),
                        None => return Err(format!("unterminated quote in {spec:?}")),
                    }
                }
                if chars.peek().is_some_and(|c| *c != ',') {
                    return Err(format!("extraneous text after quoted field in {spec:?}"));
                }
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            _ => {
                field.push(ch);
                at_field_start = false;
            }
        }
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<Mount, String> {
        parse_mount(spec, &mut |v| Ok(v.to_string()))
    }

    #[test]
    fn mount_types() {
        assert_eq!(
            parse("type=cache,target=/root/.cache,sharing=locked,mode=0755,uid=1").unwrap(),
            Mount::Cache {
                target: "/root/.cache".into(),
                id: None,
                sharing: CacheSharing::Locked,
                from: None,
                source: None,
                read_only: false,
                file_info: FileInfo {
                    mode: Some(0o755),
                    uid: Some(1),
                    gid: None
                },
            }
        );
        assert_eq!(
            parse("target=/src,rw").unwrap(),
            Mount::Bind {
                target: "/src".into(),
                source: None,
                from: None,
                read_only: false
            }
        );
        assert_eq!(
            parse("type=tmpfs,dst=/tmp,size=64m").unwrap(),
            Mount::Tmpfs {
                target: "/tmp".into(),
                size: Some(64 << 20)
            }
        );
        assert!(matches!(
            parse("type=secret,id=tok,required").unwrap(),
            Mount::Secret { required: true, .. }
        ));
        assert!(matches!(parse("type=ssh").unwrap(), Mount::Ssh { .. }));
        assert!(
            matches!(parse("\"type=bind\",\"target=/a,b\"").unwrap(), Mount::Bind { target, .. } if target == "/a,b")
        );
    }

    #[test]
    fn mount_errors() {
        for bad in [
            "type=nfs,target=/x",
            "type=bind",
            "type=bind,target=/x,mode=0700",
            "type=bind,target=/x,sharing=shared",
            "type=cache,target=/x,sharing=sometimes",
            "type=tmpfs,target=/x,size=lots",
            "type=secret,id=a,from=img",
            "type=bind,target=/x,required",
            "type=bind,target=/x,bogus=1",
            "type=bind,target",
            "type=cache,target=/x,uid=-1",
            "type=secret",
        ] {
            assert!(parse(bad).is_err(), "{bad} should fail");
        }
    }
}
