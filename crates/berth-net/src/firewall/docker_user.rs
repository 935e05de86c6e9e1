//! Living beside Docker on one host. Once dockerd turned IP forwarding on it sets the
//! iptables `filter FORWARD` policy to DROP, and an accept in Berth's own nftables table is
//! not final: every base chain on the forward hook runs and a drop in any of them wins, so
//! Berth's containers would lose their way out and published ports from other hosts.
//! Docker's documented place for other forwarding is its `DOCKER-USER` chain: when that
//! chain exists, Berth keeps there one accept per direction for each of its bridges that
//! forwards (not `--internal`), every rule tagged with a comment naming Berth's table. Only
//! rules carrying that tag are ever added or deleted; Berth's own table still does the
//! filtering (isolation drops stay final). With no `DOCKER-USER` chain nothing is done.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::FirewallError;

const CHAIN: &str = "DOCKER-USER";

/// The comment on every rule Berth's table `table` owns in `DOCKER-USER`.
fn tag(table: &str) -> String {
    format!("berth:{table}")
}

/// (`-i`/`-o`, bridge) pairs of the rules tagged `tag` in `iptables -S DOCKER-USER` output.
fn tagged_rules(listing: &str, tag: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"-A") || words.get(1) != Some(&CHAIN) {
            continue;
        }
        let tagged = words
            .windows(2)
            .any(|w| w[0] == "--comment" && w[1].trim_matches('"') == tag);
        let direction = words
            .windows(2)
            .find(|w| w[0] == "-i" || w[0] == "-o")
            .map(|w| (w[0].to_string(), w[1].to_string()));
        if tagged && let Some(direction) = direction {
            found.insert(direction);
        }
    }
    found
}

fn rule_args<'a>(direction: &'a str, bridge: &'a str, tag: &'a str) -> [&'a str; 8] {
    [
        direction,
        bridge,
        "-m",
        "comment",
        "--comment",
        tag,
        "-j",
        "ACCEPT",
    ]
}

fn run(program: &Path, args: &[&str]) -> Result<(), FirewallError> {
    let output = Command::new(program)
        .arg("-w")
        .args(args)
        .output()
        .map_err(|source| FirewallError::RunNft {
            program: program.to_path_buf(),
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FirewallError::DockerUser {
            program: program.to_path_buf(),
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Makes the tagged rules in `DOCKER-USER` (of `program`: `iptables` or `ip6tables`) exactly
/// an accept in and out of each of `bridges`. Without the program or the chain (no Docker
/// with its firewall on this host) there is nothing to do.
pub(crate) fn sync(program: &Path, table: &str, bridges: &[&str]) -> Result<(), FirewallError> {
    let listing = match Command::new(program).args(["-w", "-S", CHAIN]).output() {
        Ok(output) if output.status.success() => output.stdout,
        // Not installed, or no such chain: Docker's firewall is not here.
        Ok(_) | Err(_) => return Ok(()),
    };
    let tag = tag(table);
    let have = tagged_rules(&String::from_utf8_lossy(&listing), &tag);
    let want: BTreeSet<(String, String)> = bridges
        .iter()
        .flat_map(|b| {
            [
                ("-i".to_string(), b.to_string()),
                ("-o".to_string(), b.to_string()),
            ]
        })
        .collect();
    for (direction, bridge) in have.difference(&want) {
        let mut args = vec!["-D", CHAIN];
        args.extend(rule_args(direction, bridge, &tag));
        run(program, &args)?;
    }
    for (direction, bridge) in want.difference(&have) {
        // First in the chain: before Docker's closing RETURN and any user DROP rule.
        let mut args = vec!["-I", CHAIN];
        args.extend(rule_args(direction, bridge, &tag));
        run(program, &args)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rules_with_our_tag_are_ours() {
        let listing = "-N DOCKER-USER\n\
            -A DOCKER-USER -i br-a -m comment --comment \"berth:berth\" -j ACCEPT\n\
            -A DOCKER-USER -o br-a -m comment --comment \"berth:berth\" -j ACCEPT\n\
            -A DOCKER-USER -i br-b -m comment --comment \"berth:berth-1234\" -j ACCEPT\n\
            -A DOCKER-USER -i eth1 -o eth2 -j ACCEPT\n\
            -A DOCKER-USER -j RETURN\n";
        let ours = tagged_rules(listing, &tag("berth"));
        let expected: BTreeSet<(String, String)> = [("-i", "br-a"), ("-o", "br-a")]
            .into_iter()
            .map(|(d, b)| (d.to_string(), b.to_string()))
            .collect();
        assert_eq!(ours, expected);
        assert_eq!(tagged_rules(listing, &tag("berth-1234")).len(), 1);
        assert!(tagged_rules("garbage\n-A\n", &tag("berth")).is_empty());
    }
}
