//! `--network container:<name|id>`: the container runs in another running container's network
//! namespace, with that container's addresses in its `/etc/hosts` and its resolver. The
//! namespace is bind-mounted at the joining container's own path under the netns dir (the
//! path its OCI spec joins), so the joiner holds it on its own and its teardown removes only
//! that mount.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_net::link::{self, NetnsHandle};
use bollard_stubs::models::HostConfig;

use super::attach::{AttachRequest, Attachment};
use super::sandbox::{self, SandboxRecord};
use super::{Inner, NetError, NetworkService};

/// The `<name|id>` of a `container:` network mode.
pub(super) fn reference(host: &HostConfig) -> Option<&str> {
    host.network_mode.as_deref()?.strip_prefix("container:")
}

/// Docker's refusals for options that belong to the namespace's owner.
pub(super) fn refuse_conflicts(host: &HostConfig) -> Result<(), NetError> {
    let given = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|l| !l.is_empty());
    let conflict = if given(&host.dns) || given(&host.dns_search) || given(&host.dns_options) {
        Some("dns and the network mode")
    } else if given(&host.extra_hosts) {
        Some("custom host-to-IP mapping and the network mode")
    } else if host.port_bindings.as_ref().is_some_and(|p| !p.is_empty())
        || host.publish_all_ports == Some(true)
    {
        Some("port publishing and the container type network mode")
    } else {
        None
    };
    match conflict {
        Some(what) => Err(NetError::ConflictingOptions { what }),
        None => Ok(()),
    }
}

/// The running container `reference` names (ID, name, or unique ID prefix) among those with
/// a network set up; `own_id` may not join itself.
pub(super) fn target<'a>(
    sandboxes: &'a BTreeMap<String, SandboxRecord>,
    reference: &str,
    own_id: &str,
) -> Result<&'a SandboxRecord, NetError> {
    let wanted = reference.trim_start_matches('/');
    let by_id_or_name = sandboxes
        .values()
        .find(|s| s.container == wanted || s.name == wanted);
    let found = by_id_or_name.or_else(|| {
        let mut by_prefix = sandboxes
            .values()
            .filter(|s| !wanted.is_empty() && s.container.starts_with(wanted));
        match (by_prefix.next(), by_prefix.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    });
    match found {
        Some(s) if s.container == own_id => Err(NetError::JoinOwn),
        Some(s) => Ok(s),
        None => Err(NetError::JoinedNotRunning {
            reference: reference.to_string(),
        }),
    }
}

/// The namespace file of `target`: its own, or the daemon's for a `--network host` one.
pub(super) fn namespace_of(target: &SandboxRecord) -> PathBuf {
    target
        .netns
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc/self/ns/net"))
}

/// Makes `namespace` (a namespace file) reachable at `own` as well.
pub(super) fn bind(namespace: &Path, own: &Path) -> Result<(), NetError> {
    let _ = link::remove_persistent_netns(own);
    let source = NetnsHandle::open(namespace).map_err(NetError::Netns)?;
    source.persist_at(own).map_err(NetError::Netns)?;
    Ok(())
}

impl NetworkService {
    /// `--network container:<ref>`: no endpoint of its own; the owner's namespace at the
    /// joiner's path, the owner's addresses and hostname in its `/etc/hosts`, the owner's
    /// resolver (the embedded one listens in the shared namespace).
    pub(super) fn attach_joined(
        &self,
        inner: &mut Inner,
        mut joiner: SandboxRecord,
        request: &AttachRequest<'_>,
        host_resolv: &berth_net::files::ResolvConf,
    ) -> Result<Attachment, NetError> {
        refuse_conflicts(request.host)?;
        let owner = target(
            &inner.sandboxes,
            reference(request.host).unwrap_or_default(),
            request.id,
        )?
        .clone();
        let namespace = request
            .joined_netns
            .map_or_else(|| namespace_of(&owner), Path::to_path_buf);
        let hostname = if owner.hostname.is_empty() {
            request.hostname
        } else {
            &owner.hostname
        };
        let as_owner = AttachRequest {
            hostname,
            ..*request
        };
        let files = self.files(inner, &owner, &as_owner, host_resolv)?;
        let own = self.netns_dir.join(request.id);
        bind(&namespace, &own)?;
        joiner.netns = Some(own.clone());
        joiner.owns_netns = true;
        joiner.dns_upstreams = owner.dns_upstreams.clone();
        if let Err(error) = sandbox::save(&self.sandbox_dir, &joiner) {
            let _ = link::remove_persistent_netns(&own);
            return Err(error);
        }
        inner.sandboxes.insert(request.id.to_string(), joiner);
        Ok(Attachment {
            netns_path: Some(own),
            ..files
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(id: &str, name: &str) -> SandboxRecord {
        SandboxRecord {
            container: id.to_string(),
            name: name.to_string(),
            netns: Some(PathBuf::from(format!("/run/berth/netns/{id}"))),
            owns_netns: true,
            endpoints: Vec::new(),
            mode_network: None,
            ports: Vec::new(),
            exposed: Vec::new(),
            dns_upstreams: Vec::new(),
            hostname: name.to_string(),
        }
    }

    #[test]
    fn targets_by_id_name_and_unique_prefix() {
        let sandboxes: BTreeMap<String, SandboxRecord> =
            [sandbox("abc123", "web"), sandbox("abd456", "db")]
                .into_iter()
                .map(|s| (s.container.clone(), s))
                .collect();
        assert_eq!(target(&sandboxes, "web", "x").unwrap().container, "abc123");
        assert_eq!(target(&sandboxes, "/db", "x").unwrap().container, "abd456");
        assert_eq!(target(&sandboxes, "abc", "x").unwrap().container, "abc123");
        assert!(matches!(
            target(&sandboxes, "ab", "x"),
            Err(NetError::JoinedNotRunning { .. })
        ));
        assert!(matches!(
            target(&sandboxes, "web", "abc123"),
            Err(NetError::JoinOwn)
        ));
    }

    #[test]
    fn options_of_the_namespace_owner_are_refused() {
        let mut host = HostConfig {
            network_mode: Some("container:web".into()),
            ..Default::default()
        };
        assert!(refuse_conflicts(&host).is_ok());
        host.dns = Some(vec!["10.0.0.1".into()]);
        assert_eq!(
            refuse_conflicts(&host).unwrap_err().to_string(),
            "conflicting options: dns and the network mode"
        );
        host.dns = None;
        host.publish_all_ports = Some(true);
        assert!(refuse_conflicts(&host).is_err());
    }
}
