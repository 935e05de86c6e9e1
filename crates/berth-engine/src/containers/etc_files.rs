//! The files Docker writes for every container and bind-mounts over the image's:
//! `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` (kept in the container's directory).

use std::path::{Path, PathBuf};

use super::ContainerError;

/// Where a container's /etc files live on the host.
#[derive(Debug, Clone)]
pub struct EtcPaths {
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
}

impl EtcPaths {
    pub fn as_spec_files(&self) -> crate::spec::EtcFiles<'_> {
        crate::spec::EtcFiles {
            hosts: &self.hosts,
            hostname: &self.hostname,
            resolv_conf: &self.resolv_conf,
        }
    }
}

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
";

/// Docker's fallback when the host has no usable nameserver.
const DEFAULT_NAMESERVERS: &str = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

pub fn paths(dir: &Path) -> EtcPaths {
    EtcPaths {
        hosts: dir.join("hosts"),
        hostname: dir.join("hostname"),
        resolv_conf: dir.join("resolv.conf"),
    }
}

/// Writes the three files for a container named by `hostname`; with host networking the
/// host's own files are copied, as Docker does.
pub fn write(dir: &Path, hostname: &str, host_network: bool) -> Result<EtcPaths, ContainerError> {
    let files = paths(dir);
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let (hosts, resolv) = if host_network {
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| HOSTS_BASE.into());
        (hosts, host_resolv)
    } else {
        (HOSTS_BASE.to_string(), container_resolv_conf(&host_resolv))
    };
    write_file(&files.hosts, &hosts)?;
    write_file(&files.hostname, &format!("{hostname}\n"))?;
    write_file(&files.resolv_conf, &resolv)?;
    Ok(files)
}

fn write_file(path: &PathBuf, content: &str) -> Result<(), ContainerError> {
    std::fs::write(path, content).map_err(|source| ContainerError::Io {
        what: "writing",
        path: path.clone(),
        source,
    })
}

/// The host's resolv.conf without loopback nameservers (they mean nothing in another network
/// namespace); Docker's public fallback when none is left.
pub fn container_resolv_conf(host: &str) -> String {
    let mut out = String::new();
    let mut nameservers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let addr = words.next().unwrap_or("");
            if addr.starts_with("127.") || addr == "::1" || addr.is_empty() {
                continue;
            }
            nameservers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if nameservers == 0 {
        out.push_str(DEFAULT_NAMESERVERS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_loopback_nameservers() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\n";
        assert_eq!(
            container_resolv_conf(host),
            "# generated\nnameserver 10.0.0.2\nsearch lan\n"
        );
        let only_local = "nameserver 127.0.0.53\noptions edns0\n";
        assert_eq!(
            container_resolv_conf(only_local),
            format!("options edns0\n{DEFAULT_NAMESERVERS}")
        );
    }
}
