//! `port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports from its inspect
//! body, printed as docker/cli does (naturally sorted, IPv6 hosts in brackets).

use clap::Args;
use serde_json::Value;

use super::network::natural_cmp;
use crate::{Ctx, StatusError};

#[derive(Args, Debug)]
pub struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

/// Go's net.JoinHostPort.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn frontends(bindings: &Value) -> Vec<String> {
    bindings
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            join_host_port(
                b["HostIp"].as_str().unwrap_or_default(),
                b["HostPort"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// The lines `port` prints for the `Ports` map of an inspect body, or the error docker gives.
pub fn port_lines(
    ports: &Value,
    container: &str,
    wanted: Option<&str>,
) -> Result<Vec<String>, String> {
    let mut lines = match wanted {
        Some(wanted) => {
            let (port, proto) = wanted.split_once('/').unwrap_or((wanted, "tcp"));
            if port.parse::<u16>().is_err() {
                return Err(format!("Error: invalid port ({port})"));
            }
            let found = frontends(&ports[format!("{port}/{proto}")]);
            if found.is_empty() {
                return Err(format!(
                    "Error: No public port '{wanted}' published for {container}"
                ));
            }
            found
        }
        None => ports
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(from, bindings)| {
                frontends(bindings)
                    .into_iter()
                    .map(move |to| format!("{from} -> {to}"))
            })
            .collect(),
    };
    lines.sort_by(|a, b| natural_cmp(a, b));
    Ok(lines)
}

pub fn port(ctx: &Ctx, args: PortArgs) -> anyhow::Result<i32> {
    let inspect = ctx.client()?.container_inspect(&args.container)?;
    let ports = &inspect["NetworkSettings"]["Ports"];
    let lines = port_lines(ports, &args.container, args.port.as_deref())
        .map_err(|message| StatusError { message, code: 1 })?;
    if !lines.is_empty() {
        println!("{}", lines.join("\n"));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_every_binding_sorted() {
        let ports = json!({
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
            "9/tcp": null,
        });
        assert_eq!(
            port_lines(&ports, "c", None).unwrap(),
            [
                "53/udp -> 127.0.0.1:5353",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080"
            ]
        );
        assert_eq!(
            port_lines(&ports, "c", Some("53/udp")).unwrap(),
            ["127.0.0.1:5353"]
        );
        assert_eq!(
            port_lines(&ports, "c", Some("9")).unwrap_err(),
            "Error: No public port '9' published for c"
        );
        assert!(port_lines(&ports, "c", Some("x/tcp")).is_err());
    }
}
