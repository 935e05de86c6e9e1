//! The OCI process of an exec: the container's own process (capabilities, rlimits, apparmor,
//! no_new_privs, user) with the exec's command, environment, cwd, user and tty.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process};

use super::{ExecError, ExecSpec};

/// Every capability Linux has (for `--privileged`), as Docker grants them.
const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Builds the exec's process from the container's `base` process.
pub fn build(
    base: Option<&Process>,
    spec: &ExecSpec,
    rootfs: &std::path::Path,
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
    p.set_console_size(None);
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
        let p = build(Some(&base), &spec, std::path::Path::new("/nonexistent")).unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["sh"]);
        assert_eq!(
            p.env().as_ref().unwrap(),
            &["PATH=/bin", "A=2", "TERM=xterm", "B=3"]
        );
        assert_eq!(p.cwd().to_str(), Some("/srv"));
        assert_eq!(p.terminal(), Some(true));
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
