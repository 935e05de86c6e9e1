//! `HostConfig.SecurityOpt`, parsed like moby's `parseSecurityOpt` (`key=value`, the deprecated
//! `key:value`, bare `no-new-privileges` and `disable`), plus the CLI-side
//! `systempaths=unconfined`.

use std::path::Path;

use super::SpecError;

/// Which seccomp filter the container gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    /// Docker's default profile.
    Default,
    Unconfined,
    /// A profile in Docker's JSON format (the CLI sends the file's contents).
    Profile(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOpts {
    pub seccomp: Seccomp,
    pub no_new_privileges: bool,
    /// `apparmor=<profile>`; `None` when unset or `unconfined`.
    pub apparmor: Option<String>,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub unconfined_paths: bool,
}

pub fn parse(opts: &[String]) -> Result<SecurityOpts, SpecError> {
    let mut out = SecurityOpts {
        seccomp: Seccomp::Default,
        no_new_privileges: false,
        apparmor: None,
        unconfined_paths: false,
    };
    for opt in opts {
        let invalid = |reason| SpecError::InvalidSecurityOpt {
            opt: opt.clone(),
            reason,
        };
        match opt.as_str() {
            "no-new-privileges" => {
                out.no_new_privileges = true;
                continue;
            }
            // SELinux labeling off: nothing to turn off without SELinux.
            "disable" => continue,
            _ => {}
        }
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .ok_or_else(|| invalid("expected key=value"))?;
        match key {
            "seccomp" => out.seccomp = seccomp(value)?,
            "no-new-privileges" => {
                out.no_new_privileges = parse_bool(value).ok_or_else(|| invalid("not a boolean"))?
            }
            "apparmor" => out.apparmor = apparmor(opt, value)?,
            "label" => label(opt, value)?,
            "systempaths" if value == "unconfined" => out.unconfined_paths = true,
            "systempaths" => return Err(invalid("the only systempaths value is unconfined")),
            _ => return Err(invalid("unknown option")),
        }
    }
    Ok(out)
}

fn seccomp(value: &str) -> Result<Seccomp, SpecError> {
    let trimmed = value.trim();
    Ok(match trimmed {
        "unconfined" => Seccomp::Unconfined,
        "" | "builtin" => Seccomp::Default,
        json if json.starts_with('{') => Seccomp::Profile(json.to_string()),
        // The client reads a profile file and sends its contents (docker and berth do); the
        // daemon never opens a path an API caller names.
        path => {
            return Err(SpecError::SeccompProfileNotJson {
                given: path.to_string(),
            });
        }
    })
}

/// Profiles are applied by the runtime; they must be loaded in a kernel with AppArmor.
fn apparmor(opt: &str, value: &str) -> Result<Option<String>, SpecError> {
    if value.is_empty() || value == "unconfined" {
        return Ok(None);
    }
    if !apparmor_enabled() {
        return Err(SpecError::UnsupportedSecurityOpt {
            opt: opt.to_string(),
            reason: "AppArmor is not enabled on this host",
        });
    }
    Ok(Some(value.to_string()))
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

/// `label=disable` is a no-op without SELinux; labels themselves need SELinux, which Berth
/// does not apply.
fn label(opt: &str, value: &str) -> Result<(), SpecError> {
    if value == "disable" || value == "nested" {
        return Ok(());
    }
    let reason = if Path::new("/sys/fs/selinux/enforce").exists() {
        "SELinux labels are not supported by Berth yet"
    } else {
        "SELinux is not enabled on this host"
    };
    Err(SpecError::UnsupportedSecurityOpt {
        opt: opt.to_string(),
        reason,
    })
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Result<SecurityOpts, SpecError> {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults() {
        let o = opts(&[]).unwrap();
        assert_eq!(o.seccomp, Seccomp::Default);
        assert!(!o.no_new_privileges && !o.unconfined_paths && o.apparmor.is_none());
    }

    #[test]
    fn flags_and_values() {
        let o = opts(&[
            "no-new-privileges",
            "seccomp=unconfined",
            "systempaths=unconfined",
            "label=disable",
            "apparmor=unconfined",
        ])
        .unwrap();
        assert!(o.no_new_privileges && o.unconfined_paths);
        assert_eq!(o.seccomp, Seccomp::Unconfined);
        assert!(
            !opts(&["no-new-privileges:false"])
                .unwrap()
                .no_new_privileges
        );
        assert!(opts(&["no-new-privileges=true"]).unwrap().no_new_privileges);
        let inline = opts(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#]).unwrap();
        assert!(matches!(inline.seccomp, Seccomp::Profile(_)));
    }

    #[test]
    fn bad_options_are_invalid_arguments() {
        for bad in [
            "no-new-privileges=maybe",
            "bogus=1",
            "nonsense",
            "label=type:svirt_t",
            "seccomp=/nonexistent/profile.json",
            "systempaths=confined",
        ] {
            let err = opts(&[bad]).unwrap_err();
            assert_eq!(
                crate::HasKind::kind(&err),
                crate::ErrorKind::InvalidArgument,
                "{bad}: {err}"
            );
        }
    }
}
