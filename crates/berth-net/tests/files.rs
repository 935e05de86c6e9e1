//! Golden tests for the generated /etc/hosts, /etc/hostname and /etc/resolv.conf.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use berth_net::files::{
    DnsOverrides, HostsSpec, InvalidEntry, ResolvConf, ResolverMode, hostname_file, hosts_file,
    resolv_conf,
};

/// Compares with `tests/golden/<name>`; `BERTH_BLESS=1` rewrites the file instead.
fn golden(name: &str, actual: Result<String, InvalidEntry>) {
    let actual = actual.unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BERTH_BLESS").is_some() {
        std::fs::write(&path, &actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(actual, expected, "golden {name} differs; actual:\n{actual}");
}

fn host_conf() -> ResolvConf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/host-resolv.conf");
    ResolvConf::parse(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn parses_the_host_resolv_conf() {
    let conf = host_conf();
    let ns: Vec<IpAddr> = ["127.0.0.53", "192.0.2.53", "2001:db8::53"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(conf.nameservers, ns);
    assert_eq!(conf.search, ["corp.example", "lab.example"]);
    assert_eq!(conf.options, ["edns0", "trust-ad"]);
    assert_eq!(conf.upstreams()[0], SocketAddr::from(([127, 0, 0, 53], 53)));
}

#[test]
fn hostname_and_hosts() {
    golden("hostname", hostname_file("web-1"));
    let addresses = [
        IpAddr::V4(Ipv4Addr::new(172, 30, 0, 2)),
        IpAddr::V4(Ipv4Addr::new(172, 31, 0, 5)),
    ];
    let extra = [
        ("db.local", IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
        ("v6host", "2001:db8::1".parse().unwrap()),
    ];
    golden(
        "hosts",
        hosts_file(&HostsSpec {
            hostname: "web-1",
            domainname: Some("example.test"),
            addresses: &addresses,
            extra_hosts: &extra,
        }),
    );
    golden(
        "hosts-minimal",
        hosts_file(&HostsSpec {
            hostname: "abc123",
            addresses: &addresses[..1],
            ..Default::default()
        }),
    );
}

#[test]
fn resolv_conf_embedded_host_and_overrides() {
    let host = host_conf();
    let embedded = ResolverMode::Embedded(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)));
    golden(
        "resolv-embedded.conf",
        resolv_conf(&host, embedded, &DnsOverrides::default()),
    );
    let fallback = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))];
    golden(
        "resolv-host.conf",
        resolv_conf(
            &host,
            ResolverMode::Host {
                fallback: &fallback,
            },
            &DnsOverrides::default(),
        ),
    );
    let only_loopback = ResolvConf::parse("nameserver 127.0.0.53\n");
    golden(
        "resolv-fallback.conf",
        resolv_conf(
            &only_loopback,
            ResolverMode::Host {
                fallback: &fallback,
            },
            &DnsOverrides::default(),
        ),
    );
    let servers = [IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))];
    let search = vec!["svc.test".to_string()];
    let options = vec!["ndots:2".to_string(), "timeout:1".to_string()];
    let overrides = DnsOverrides {
        servers: &servers,
        search: &search,
        options: &options,
    };
    golden(
        "resolv-overrides.conf",
        resolv_conf(&host, ResolverMode::Host { fallback: &[] }, &overrides),
    );
    golden(
        "resolv-embedded-overrides.conf",
        resolv_conf(&host, embedded, &overrides),
    );
}

#[test]
fn entries_that_would_break_the_files_are_refused() {
    assert_eq!(
        hostname_file("evil\n127.0.0.1 bank").unwrap_err().field,
        "hostname"
    );
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let extra = [("two words", ip)];
    let spec = HostsSpec {
        hostname: "ok",
        extra_hosts: &extra,
        ..Default::default()
    };
    assert_eq!(hosts_file(&spec).unwrap_err().field, "extra host name");
    let search = vec!["a.test\nnameserver 192.0.2.66".to_string()];
    let overrides = DnsOverrides {
        search: &search,
        ..Default::default()
    };
    let mode = ResolverMode::Host { fallback: &[] };
    assert!(resolv_conf(&ResolvConf::default(), mode, &overrides).is_err());
}
