//! `network create`, `network connect`, `network disconnect`: the request bodies docker/cli
//! sends (its pairing of `--subnet` with `--gateway`/`--ip-range`/`--aux-address` included).

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_client::{Body, Query};
use clap::Args;
use serde_json::{Map, Value, json};

use crate::Ctx;

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Enable manual container attachment.
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by the network driver (name=ip).
    #[arg(long = "aux-address")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration.
    #[arg(long = "config-from")]
    pub config_from: Option<String>,
    /// Create a configuration only network.
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the network.
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 gateway for the master subnet.
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network.
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network.
    #[arg(long)]
    pub internal: bool,
    /// Allocate container IP from a sub-range.
    #[arg(long = "ip-range")]
    pub ip_range: Vec<String>,
    /// IP address management driver.
    #[arg(long = "ipam-driver", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options (key=value).
    #[arg(long = "ipam-opt")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ipv6: Option<bool>,
    /// Set metadata on a network (key=value).
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options (key=value).
    #[arg(short = 'o', long = "opt")]
    pub opt: Vec<String>,
    /// Control the network's scope.
    #[arg(long)]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment.
    #[arg(long)]
    pub subnet: Vec<String>,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container.
    #[arg(long)]
    pub alias: Vec<String>,
    /// Driver options for the network (key=value).
    #[arg(long = "driver-opt")]
    pub driver_opt: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104").
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33").
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container.
    #[arg(long)]
    pub link: Vec<String>,
    /// Add a link-local address for the container.
    #[arg(long = "link-local-ip")]
    pub link_local_ip: Vec<String>,
    pub network: String,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network.
    #[arg(short, long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

/// `key=value` flags as a JSON object (a bare `key` maps to "").
fn key_values(items: &[String]) -> Map<String, Value> {
    items
        .iter()
        .map(|item| {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            (k.to_owned(), Value::String(v.to_owned()))
        })
        .collect()
}

/// An address and prefix length; a CIDR without `/` is not accepted, as in docker.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u32) {
            match a {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let ((net, width), (other, other_width)) = (bits(self.addr), bits(ip));
        if width != other_width {
            return false;
        }
        let host_bits = width - u32::from(self.prefix);
        host_bits >= 128 || (net >> host_bits) == (other >> host_bits)
    }
}

fn bad(message: String) -> anyhow::Error {
    crate::StatusError { message, code: 1 }.into()
}

/// docker/cli's consolidateIpam: each gateway, range and aux address joins the subnet
/// holding it.
fn ipam_configs(args: &CreateArgs) -> anyhow::Result<Vec<Value>> {
    if args.subnet.len() < args.ip_range.len() || args.subnet.len() < args.gateway.len() {
        return Err(bad(
            "every ip-range or gateway must have a corresponding subnet".to_owned(),
        ));
    }
    let config_of = |subnet: &String| json!({"Subnet": subnet, "AuxiliaryAddresses": {}});
    let mut configs: Vec<Value> = args.subnet.iter().map(config_of).collect();
    // Subnets are parsed only to place a gateway, range or aux address in them (docker/cli
    // leaves the rest to the daemon).
    let holder = |ip: IpAddr| -> anyhow::Result<Option<usize>> {
        for (i, subnet) in args.subnet.iter().enumerate() {
            let cidr = Cidr::parse(subnet)
                .ok_or_else(|| bad(format!("invalid subnet: invalid CIDR address: {subnet}")))?;
            if cidr.contains(ip) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    };
    for range in &args.ip_range {
        let cidr =
            Cidr::parse(range).ok_or_else(|| bad(format!("invalid CIDR address: {range}")))?;
        let i = holder(cidr.addr)?
            .ok_or_else(|| bad(format!("no matching subnet for range {range}")))?;
        if let Some(old) = configs[i]["IPRange"].as_str() {
            return Err(bad(format!(
                "cannot configure multiple ranges ({range}, {old}) on the same subnet ({})",
                args.subnet[i]
            )));
        }
        configs[i]["IPRange"] = json!(range);
    }
    for gateway in &args.gateway {
        let ip: IpAddr = gateway
            .parse()
            .map_err(|_| bad(format!("invalid gateway address: {gateway}")))?;
        let i =
            holder(ip)?.ok_or_else(|| bad(format!("no matching subnet for gateway {gateway}")))?;
        if let Some(old) = configs[i]["Gateway"].as_str() {
            return Err(bad(format!(
                "cannot configure multiple gateways ({gateway}, {old}) for the same subnet ({})",
                args.subnet[i]
            )));
        }
        configs[i]["Gateway"] = json!(gateway);
    }
    for (name, address) in key_values(&args.aux_address) {
        let text = address.as_str().unwrap_or_default();
        let ip: IpAddr = text
            .parse()
            .map_err(|_| bad(format!("invalid aux-address: {name}={text}")))?;
        let i =
            holder(ip)?.ok_or_else(|| bad(format!("no matching subnet for aux-address {text}")))?;
        configs[i]["AuxiliaryAddresses"][name] = address;
    }
    Ok(configs)
}

/// The body of `POST /networks/create`.
fn create_body(args: &CreateArgs) -> anyhow::Result<Value> {
    let mut body = json!({
        "Name": args.name,
        "CheckDuplicate": true,
        "Driver": args.driver,
        "Scope": args.scope.clone().unwrap_or_default(),
        "IPAM": {
            "Driver": args.ipam_driver,
            "Config": ipam_configs(args)?,
            "Options": key_values(&args.ipam_opt),
        },
        "Internal": args.internal,
        "Attachable": args.attachable,
        "Ingress": args.ingress,
        "ConfigOnly": args.config_only,
        "Options": key_values(&args.opt),
        "Labels": key_values(&args.label),
    });
    if let Some(from) = &args.config_from {
        body["ConfigFrom"] = json!({ "Network": from });
    }
    if let Some(ipv4) = args.ipv4 {
        body["EnableIPv4"] = json!(ipv4);
    }
    if let Some(ipv6) = args.ipv6 {
        body["EnableIPv6"] = json!(ipv6);
    }
    Ok(body)
}

pub fn create(ctx: &Ctx, args: CreateArgs) -> anyhow::Result<i32> {
    let body = create_body(&args)?;
    let response: Value = ctx
        .client()?
        .call(
            "POST",
            "/networks/create",
            &Query::new(),
            Body::json(&body)?,
        )?
        .json()?;
    if let Some(warning) = response["Warning"].as_str().filter(|w| !w.is_empty()) {
        eprintln!("{warning}");
    }
    println!("{}", response["Id"].as_str().unwrap_or_default());
    Ok(0)
}

pub fn connect(ctx: &Ctx, args: ConnectArgs) -> anyhow::Result<i32> {
    let mut ipam = BTreeMap::new();
    if let Some(ip) = &args.ip {
        ipam.insert("IPv4Address", json!(ip));
    }
    if let Some(ip6) = &args.ip6 {
        ipam.insert("IPv6Address", json!(ip6));
    }
    if !args.link_local_ip.is_empty() {
        ipam.insert("LinkLocalIPs", json!(args.link_local_ip));
    }
    let mut endpoint = json!({
        "Aliases": args.alias,
        "Links": args.link,
        "DriverOpts": key_values(&args.driver_opt),
    });
    if !ipam.is_empty() {
        endpoint["IPAMConfig"] = json!(ipam);
    }
    let body = json!({ "Container": args.container, "EndpointConfig": endpoint });
    let path = format!("/networks/{}/connect", args.network);
    ctx.client()?
        .call("POST", &path, &Query::new(), Body::json(&body)?)?;
    Ok(0)
}

pub fn disconnect(ctx: &Ctx, args: DisconnectArgs) -> anyhow::Result<i32> {
    let body = json!({ "Container": args.container, "Force": args.force });
    let path = format!("/networks/{}/disconnect", args.network);
    ctx.client()?
        .call("POST", &path, &Query::new(), Body::json(&body)?)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: CreateArgs,
    }

    fn body(argv: &[&str]) -> anyhow::Result<Value> {
        let wrap = Wrap::try_parse_from(std::iter::once("create").chain(argv.iter().copied()))?;
        create_body(&wrap.args)
    }

    #[test]
    fn gateways_and_ranges_join_their_subnets() {
        let b = body(&[
            "--subnet=10.1.0.0/16",
            "--subnet=fd00:1::/64",
            "--gateway=fd00:1::1",
            "--gateway=10.1.0.254",
            "--ip-range=10.1.2.0/24",
            "--aux-address=host=10.1.0.5",
            "--label=a=b",
            "-o",
            "com.docker.network.bridge.name=x",
            "--ipv6",
            "n",
        ])
        .unwrap();
        let config = &b["IPAM"]["Config"];
        assert_eq!(config[0]["Gateway"], "10.1.0.254");
        assert_eq!(config[0]["IPRange"], "10.1.2.0/24");
        assert_eq!(config[0]["AuxiliaryAddresses"]["host"], "10.1.0.5");
        assert_eq!(config[1]["Gateway"], "fd00:1::1");
        assert_eq!(b["EnableIPv6"], true);
        assert!(b.get("EnableIPv4").is_none());
        assert_eq!(b["Labels"]["a"], "b");
        assert_eq!(b["Options"]["com.docker.network.bridge.name"], "x");
    }

    #[test]
    fn a_gateway_outside_every_subnet_is_an_error() {
        let err = body(&["--subnet=10.1.0.0/16", "--gateway=10.2.0.1", "n"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("no matching subnet for gateway 10.2.0.1")
        );
        let err = body(&["--gateway=10.2.0.1", "n"]).unwrap_err();
        assert!(err.to_string().contains("must have a corresponding subnet"));
        let err = body(&[
            "--subnet=10.1.0.0/16",
            "--subnet=10.2.0.0/16",
            "--gateway=10.1.0.1",
            "--gateway=10.1.0.2",
            "n",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("multiple gateways"), "{err}");
        assert!(body(&["--subnet=10.1.0.0", "--gateway=10.1.0.1", "n"]).is_err());
        // Left to the daemon when nothing has to be placed in it.
        assert_eq!(
            body(&["--subnet=bogus", "n"]).unwrap()["IPAM"]["Config"][0]["Subnet"],
            "bogus"
        );
    }
}
