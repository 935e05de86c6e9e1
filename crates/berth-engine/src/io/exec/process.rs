//! The OCI process of an exec: the container's own process (capabilities, rlimits, apparmor,
//! no_new_privs, user) with the exec's command, environment, cwd, user and tty.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process};

use super::{ExecError, ExecSpec};

/// Every capability Linux has (for `--privileged`), as Docker grants them.
const ALL_CAPS: &[&str] = &berth_runtime::process::caps::ALL_NAMES;

/// Builds the exec's process from the container's `base` process; `size` (rows, cols) is
/// set on the pty before the program runs.
pub fn build(
    base: Option<&Process>,
    spec: &ExecSpec,
    rootfs: &std::path::Path,
    size: Option<(u16, u16)>,
) -> Result<Process, ExecError> {
    let mut p = base.cloned().unwrap_or_default();
    p.set_args(Some(spec.cmd.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    if spec.tty {
        replace_or_append(&mut env, "TERM=xterm");
    }
    for kv in &spec.env {
        replace_or_append(&mut env, kv);
    }
    p.set_env(Some(env));
    if !spec.working_dir.is_empty() {
        p.set_cwd(spec.working_dir.clone().into());
    }
    if !spec.user.is_empty() {
        let user = crate::spec::resolve_user(rootfs, &spec.user, &[]).map_err(ExecError::User)?;
        let mut oci = user.oci_user();
        oci.set_umask(p.user().umask());
        p.set_user(oci);
    }
    p.set_terminal(Some(spec.tty));
    let console_size = size.filter(|_| spec.tty).and_then(|(rows, cols)| {
        oci_spec::runtime::BoxBuilder::default()
            .height(u64::from(rows))
            .width(u64::from(cols))
            .build()
            .ok()
    });
    p.set_console_size(console_size);
    if spec.privileged {
        let all: Capabilities = ALL_CAPS
            .iter()
            .filter_map(|n| Capability::from_str(n.trim_start_matches("CAP_")).ok())
            .collect();
        let mut caps = LinuxCapabilities::default();
        caps.set_bounding(Some(all.clone()));
        caps.set_effective(Some(all.clone()));
        caps.set_permitted(Some(all));
        caps.set_inheritable(None);
        caps.set_ambient(None);
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

/// Docker's `ReplaceOrAppendEnvValues`: `KEY=v` replaces an existing `KEY=…`.
fn replace_or_append(env: &mut Vec<String>, kv: &str) {
    let key = kv.split_once('=').map_or(kv, |(k, _)| k);
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(existing) => *existing = kv.to_string(),
        None => env.push(kv.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_the_containers_process() {
        let mut base = Process::default();
        base.set_env(Some(vec!["PATH=/bin".into(), "A=1".into()]));
        base.set_cwd("/srv".into());
        let spec = ExecSpec {
            cmd: vec!["sh".into()],
            env: vec!["A=2".into(), "B=3".into()],
            tty: true,
            privileged: true,
            ..ExecSpec::default()
        };
        let p = build(
            Some(&base),
            &spec,
            std::path::Path::new("/nonexistent"),
            Some((40, 100)),
        )
        .unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["sh"]);
        assert_eq!(
            p.env().as_ref().unwrap(),
            &["PATH=/bin", "A=2", "TERM=xterm", "B=3"]
        );
        assert_eq!(p.cwd().to_str(), Some("/srv"));
        assert_eq!(p.terminal(), Some(true));
        let size = p.console_size().unwrap();
        assert_eq!((size.height(), size.width()), (40, 100));
        let bounding = p
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap();
        assert!(bounding.contains(&Capability::SysAdmin) && bounding.len() >= 38);
    }
}
