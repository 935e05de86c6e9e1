//! Seccomp profiles in Docker's JSON format (`profiles/seccomp` in moby: `archMap`,
//! `includes`/`excludes` by capability, architecture and kernel version) and their resolution
//! into the OCI `linux.seccomp` for one container, like moby's `setupSeccomp`: only the native
//! architecture's entry of the map, only the rules whose conditions the container meets.

mod default;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSyscall,
};
use serde::Deserialize;

use super::SpecError;
use super::security::Seccomp;

pub use default::default_profile;

/// A seccomp profile as Docker reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: LinuxSeccompAction,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Option<Vec<Arch>>,
    #[serde(default)]
    pub arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    pub listener_path: Option<String>,
    #[serde(default)]
    pub listener_metadata: Option<String>,
    #[serde(default)]
    pub flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    pub syscalls: Option<Vec<Syscall>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: Arch,
    #[serde(default)]
    pub sub_architectures: Option<Vec<Arch>>,
}

/// One rule; `name` is the deprecated single-name form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Syscall {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub names: Option<Vec<String>>,
    pub action: LinuxSeccompAction,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    pub includes: Option<Filter>,
    #[serde(default)]
    pub excludes: Option<Filter>,
}

/// When a rule applies: all listed capabilities in the bounding set, one of the architectures
/// (Go names: amd64, arm64, ...), a kernel at least `minKernel` ("5.8").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default)]
    pub caps: Option<Vec<String>>,
    #[serde(default)]
    pub arches: Option<Vec<String>>,
    #[serde(default)]
    pub min_kernel: Option<String>,
}

/// What a rule's conditions are checked against.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The container's bounding capabilities (`CAP_*`).
    pub caps: &'a [String],
    /// Go's name of the native architecture (`amd64`, `arm64`).
    pub arch: &'a str,
    /// The running kernel's (major, minor).
    pub kernel: (u32, u32),
}

impl Target<'_> {
    /// The host's architecture and kernel, with the container's capabilities.
    pub fn host(caps: &[String]) -> Target<'_> {
        Target {
            caps,
            arch: go_arch(),
            kernel: kernel_version(),
        }
    }
}

/// The container's filter: `None` when unconfined or privileged (as Docker: privileged
/// containers run without seccomp unless a profile is given explicitly).
pub fn for_container(
    choice: &Seccomp,
    privileged: bool,
    caps: &[String],
) -> Result<Option<LinuxSeccomp>, SpecError> {
    let profile = match choice {
        Seccomp::Unconfined => return Ok(None),
        Seccomp::Default if privileged => return Ok(None),
        Seccomp::Default => default_profile(),
        Seccomp::Profile(json) => serde_json::from_str(json)
            .map_err(|source| SpecError::ParseSeccompProfile { source })?,
    };
    resolve(&profile, &Target::host(caps)).map(Some)
}

/// The profile's rules that apply to `target`, as an OCI seccomp config.
pub fn resolve(profile: &Profile, target: &Target<'_>) -> Result<LinuxSeccomp, SpecError> {
    let invalid = |reason: &str| SpecError::InvalidSeccompProfile {
        reason: reason.to_string(),
    };
    let mut architectures: Vec<Arch> = profile.architectures.clone().unwrap_or_default();
    if let Some(map) = &profile.arch_map {
        if !architectures.is_empty() {
            return Err(invalid(
                "both 'architectures' and 'archMap' are specified, use either one",
            ));
        }
        if let Some(native) = native_arch(target.arch) {
            for entry in map.iter().filter(|e| e.architecture == native) {
                architectures.push(entry.architecture);
                architectures.extend(entry.sub_architectures.iter().flatten().copied());
            }
        }
    }
    let mut syscalls = Vec::new();
    for rule in profile.syscalls.iter().flatten() {
        let names = match (&rule.name, &rule.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err(invalid(
                    "use either 'name' or 'names' in a syscall rule, not both",
                ));
            }
            (Some(name), _) => vec![name.clone()],
            (None, names) => names.clone().unwrap_or_default(),
        };
        if !applies(rule, target)? {
            continue;
        }
        let mut call = LinuxSyscall::default();
        call.set_names(names);
        call.set_action(rule.action);
        call.set_errno_ret(rule.errno_ret);
        call.set_args(rule.args.clone().filter(|a| !a.is_empty()));
        syscalls.push(call);
    }
    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(profile.default_action);
    seccomp.set_default_errno_ret(profile.default_errno_ret);
    seccomp.set_architectures((!architectures.is_empty()).then_some(architectures));
    seccomp.set_flags(profile.flags.clone().filter(|f| !f.is_empty()));
    seccomp.set_listener_path(
        profile
            .listener_path
            .clone()
            .filter(|p| !p.is_empty())
            .map(Into::into),
    );
    seccomp.set_listener_metadata(profile.listener_metadata.clone().filter(|m| !m.is_empty()));
    seccomp.set_syscalls(Some(syscalls));
    Ok(seccomp)
}

fn applies(rule: &Syscall, target: &Target<'_>) -> Result<bool, SpecError> {
    let has_cap = |c: &String| target.caps.contains(c);
    let has_arch = |arches: &Vec<String>| arches.iter().any(|a| a == target.arch);
    if let Some(ex) = &rule.excludes {
        if ex.arches.as_ref().is_some_and(has_arch) {
            return Ok(false);
        }
        if ex.caps.iter().flatten().any(has_cap) {
            return Ok(false);
        }
        if let Some(min) = &ex.min_kernel
            && target.kernel >= parse_kernel(min)?
        {
            return Ok(false);
        }
    }
    if let Some(inc) = &rule.includes {
        if inc
            .arches
            .as_ref()
            .is_some_and(|a| !a.is_empty() && !has_arch(a))
        {
            return Ok(false);
        }
        if !inc.caps.iter().flatten().all(has_cap) {
            return Ok(false);
        }
        if let Some(min) = &inc.min_kernel
            && target.kernel < parse_kernel(min)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// "5.8" or "5.8.0" → (5, 8).
fn parse_kernel(text: &str) -> Result<(u32, u32), SpecError> {
    let mut parts = text.split('.');
    let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (next(), next()) {
        (Some(major), Some(minor)) => Ok((major, minor)),
        _ => Err(SpecError::InvalidSeccompProfile {
            reason: format!("invalid minKernel {text:?}: expected major.minor"),
        }),
    }
}

/// The running kernel's (major, minor) from `uname -r` ("6.1.0-18-amd64").
pub fn kernel_version() -> (u32, u32) {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn native_arch(go_arch: &str) -> Option<Arch> {
    Some(match go_arch {
        "amd64" => Arch::ScmpArchX86_64,
        "arm64" => Arch::ScmpArchAarch64,
        "386" => Arch::ScmpArchX86,
        "arm" => Arch::ScmpArchArm,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390x" => Arch::ScmpArchS390x,
        "ppc64le" => Arch::ScmpArchPpc64le,
        _ => return None,
    })
}
