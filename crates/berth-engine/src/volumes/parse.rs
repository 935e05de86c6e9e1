//! The mount requests of a container config, typed: `Binds` (`name:/dst[:mode]`,
//! `/host:/dst[:mode]`, `/dst`), `Mounts` (`--mount type=volume|bind|tmpfs,...`) and the
//! anonymous volumes of `Config.Volumes` (`-v /path`, the image's `VOLUME`).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use bollard_stubs::models::{Mount, MountType};

use super::VolumeError;

/// Bind propagation modes Docker accepts.
pub const PROPAGATION: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A named volume, or an anonymous one (`None`) created for this container.
    Volume {
        name: Option<String>,
        nocopy: bool,
        driver: Option<String>,
        driver_opts: HashMap<String, String>,
        labels: HashMap<String, String>,
    },
    /// A host path; `create` makes a missing one (`-v`), else it must exist (`--mount`).
    Bind { path: PathBuf, create: bool },
    /// `--mount type=tmpfs`: the tmpfs options (`size=…,mode=…`).
    Tmpfs { options: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub destination: String,
    pub source: Source,
    pub read_only: bool,
    /// Bind propagation (`rprivate` when not given).
    pub propagation: Option<String>,
    /// Docker's `Mode` field of the mount point.
    pub mode: String,
}

/// Lexically clean, absolute, not `/`: how Docker compares mount points.
pub fn clean_destination(raw: &str, spec: &str) -> Result<String, VolumeError> {
    let invalid = |reason| VolumeError::InvalidSpec {
        spec: spec.to_string(),
        reason,
    };
    if !raw.starts_with('/') {
        return Err(invalid("the mount destination must be an absolute path"));
    }
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(raw).components() {
        match component {
            Component::Normal(p) => parts.push(p),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return Err(invalid("the mount destination can't be '/'"));
    }
    let mut out = PathBuf::from("/");
    out.extend(parts);
    Ok(out.to_string_lossy().into_owned())
}

/// One `Binds` entry.
pub fn bind(spec: &str) -> Result<Request, VolumeError> {
    let invalid = |reason| VolumeError::InvalidSpec {
        spec: spec.to_string(),
        reason,
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        [destination] => ("", *destination, ""),
        [source, destination] => (*source, *destination, ""),
        [source, destination, mode] => (*source, *destination, *mode),
        _ => return Err(invalid("too many colons")),
    };
    let destination = clean_destination(destination, spec)?;
    let mut read_only = None;
    let mut propagation = None;
    let mut nocopy = false;
    for opt in mode.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" | "rw" if read_only.is_some() => return Err(invalid("ro and rw both given")),
            "ro" => read_only = Some(true),
            "rw" => read_only = Some(false),
            "z" | "Z" => {}
            "nocopy" => nocopy = true,
            p if PROPAGATION.contains(&p) => {
                if propagation.is_some() {
                    return Err(invalid("more than one propagation mode"));
                }
                propagation = Some(p.to_string());
            }
            _ => return Err(invalid("unknown mode")),
        }
    }
    let source = if source.is_empty() {
        if !mode.is_empty() {
            return Err(invalid("an anonymous volume takes no mode"));
        }
        Source::Volume {
            name: None,
            nocopy: false,
            driver: None,
            driver_opts: HashMap::new(),
            labels: HashMap::new(),
        }
    } else if source.starts_with('/') {
        if nocopy {
            return Err(invalid("nocopy applies to volumes only"));
        }
        Source::Bind {
            path: PathBuf::from(source),
            create: true,
        }
    } else {
        if propagation.is_some() {
            return Err(invalid("propagation applies to bind mounts only"));
        }
        super::validate_name(source)?;
        Source::Volume {
            name: Some(source.to_string()),
            nocopy,
            driver: None,
            driver_opts: HashMap::new(),
            labels: HashMap::new(),
        }
    };
    let mode = match (&source, mode) {
        (Source::Volume { name: Some(_), .. }, "") => "z".to_string(),
        (_, m) => m.to_string(),
    };
    let is_bind = matches!(source, Source::Bind { .. });
    Ok(Request {
        destination,
        source,
        read_only: read_only.unwrap_or(false),
        propagation: propagation.or_else(|| is_bind.then(|| "rprivate".to_string())),
        mode,
    })
}

/// One `Mounts` entry (`--mount`).
pub fn mount(m: &Mount) -> Result<Request, VolumeError> {
    let typ = m.typ.unwrap_or(MountType::VOLUME);
    let invalid = |reason: &str| VolumeError::InvalidMount {
        typ: typ.to_string(),
        reason: reason.to_string(),
    };
    let target = m
        .target
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("field Target must not be empty"))?;
    let destination = clean_destination(target, target)?;
    let source = m.source.clone().unwrap_or_default();
    let read_only = m.read_only.unwrap_or(false);
    if typ != MountType::BIND && m.bind_options.is_some() {
        return Err(invalid("field BindOptions must not be specified"));
    }
    if typ != MountType::VOLUME && m.volume_options.is_some() {
        return Err(invalid("field VolumeOptions must not be specified"));
    }
    if typ != MountType::TMPFS && m.tmpfs_options.is_some() {
        return Err(invalid("field TmpfsOptions must not be specified"));
    }
    let (source, propagation) = match typ {
        MountType::VOLUME => {
            let options = m.volume_options.clone().unwrap_or_default();
            if options.subpath.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(invalid("volume subpaths are not supported"));
            }
            let name = (!source.is_empty()).then_some(source);
            if let Some(name) = &name {
                super::validate_name(name)?;
            }
            let driver = options.driver_config.clone().unwrap_or_default();
            (
                Source::Volume {
                    name,
                    nocopy: options.no_copy.unwrap_or(false),
                    driver: driver.name,
                    driver_opts: driver.options.unwrap_or_default(),
                    labels: options.labels.unwrap_or_default(),
                },
                None,
            )
        }
        MountType::BIND => {
            if !source.starts_with('/') {
                return Err(invalid(
                    "invalid mount path: the source must be an absolute path",
                ));
            }
            let propagation = m
                .bind_options
                .as_ref()
                .and_then(|b| b.propagation)
                .map(|p| p.to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rprivate".to_string());
            (
                Source::Bind {
                    path: PathBuf::from(source),
                    create: false,
                },
                Some(propagation),
            )
        }
        MountType::TMPFS => {
            if !source.is_empty() {
                return Err(invalid("field Source must not be specified"));
            }
            let options = m.tmpfs_options.clone().unwrap_or_default();
            let mut words = Vec::new();
            if let Some(size) = options.size_bytes.filter(|s| *s > 0) {
                words.push(format!("size={size}"));
            }
            if let Some(mode) = options.mode.filter(|m| *m > 0) {
                words.push(format!("mode={mode:o}"));
            }
            if read_only {
                words.push("ro".to_string());
            }
            (
                Source::Tmpfs {
                    options: words.join(","),
                },
                None,
            )
        }
        other => return Err(invalid(&format!("mount type {other} is not supported"))),
    };
    Ok(Request {
        destination,
        source,
        read_only,
        propagation,
        mode: String::new(),
    })
}

/// An anonymous volume for a `Config.Volumes` entry.
pub fn anonymous(path: &str) -> Result<Request, VolumeError> {
    Ok(Request {
        destination: clean_destination(path, path)?,
        source: Source::Volume {
            name: None,
            nocopy: false,
            driver: None,
            driver_opts: HashMap::new(),
            labels: HashMap::new(),
        },
        read_only: false,
        propagation: None,
        mode: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_become_volumes_or_host_paths() {
        let r = bind("data:/var/lib/x:ro").unwrap();
        assert_eq!(r.destination, "/var/lib/x");
        assert!(r.read_only);
        assert!(matches!(r.source, Source::Volume { name: Some(ref n), .. } if n == "data"));
        let r = bind("data:/x").unwrap();
        assert_eq!(r.mode, "z");
        let r = bind("/srv:/x/../y:rshared").unwrap();
        assert_eq!(r.destination, "/y");
        assert_eq!(r.propagation.as_deref(), Some("rshared"));
        assert!(matches!(r.source, Source::Bind { create: true, .. }));
        let r = bind("/anon").unwrap();
        assert!(matches!(r.source, Source::Volume { name: None, .. }));
    }

    #[test]
    fn bad_binds_are_refused() {
        for bad in [
            "../x:/y",
            "a/b:/y",
            "data:relative",
            "data:/",
            "/a:/b:bogus",
            "/a:/b:ro,rw",
            "a:b:c:d",
            "/a:/b:nocopy",
        ] {
            assert!(bind(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mounts_by_type() {
        let m: Mount = serde_json::from_str(
            r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}}"#,
        )
        .unwrap();
        let r = mount(&m).unwrap();
        assert_eq!(
            r.source,
            Source::Tmpfs {
                options: "size=1048576,mode=700".into()
            }
        );
        let m: Mount = serde_json::from_str(
            r#"{"Type":"volume","Source":"v1","Target":"/d","ReadOnly":true,"VolumeOptions":{"NoCopy":true}}"#,
        )
        .unwrap();
        let r = mount(&m).unwrap();
        assert!(r.read_only);
        assert!(matches!(r.source, Source::Volume { nocopy: true, .. }));
        let m: Mount =
            serde_json::from_str(r#"{"Type":"bind","Source":"rel","Target":"/d"}"#).unwrap();
        assert!(mount(&m).is_err());
        let m: Mount =
            serde_json::from_str(r#"{"Type":"volume","Source":"../x","Target":"/d"}"#).unwrap();
        assert!(matches!(mount(&m), Err(VolumeError::InvalidName { .. })));
    }
}
