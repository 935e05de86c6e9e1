//! Docker-style container networking for Berth: bridges and veth pairs over rtnetlink, IP
//! address management, nftables NAT and port publishing, an embedded DNS resolver, and the
//! per-container `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`.
//!
//! How the daemon uses it (all synchronous; needs root):
//!
//! 1. At start: [`network::Networks::open`]`(state_dir, "berth")`, then
//!    [`network::Networks::restore`] (re-creates bridges and the nftables table from saved
//!    state after a reboot), and re-add DNS names of running containers to
//!    [`network::Networks::dns_records`].
//! 2. `network create`: [`network::Networks::create`]; `network rm`: [`network::Networks::remove`].
//! 3. Container start, once its init exists (netns at `/proc/<pid>/ns/net`):
//!    [`link::NetnsHandle::of_pid`], [`network::Networks::connect`] per network; publish ports
//!    with [`firewall::Firewall::publish`] (via [`network::Networks::firewall`]); for
//!    user-defined networks bind the resolver with [`dns::bind_in_netns`] /
//!    [`dns::bind_tcp_in_netns`] at 127.0.0.11:53 and run [`dns::DnsServer`]; write the
//!    files from [`files`] into the container's bundle before it starts.
//! 4. Container stop: drop its `DnsServer`, [`firewall::Firewall::unpublish`],
//!    [`network::Networks::disconnect`] each endpoint.
//! 5. Uninstall/cleanup: [`firewall::Firewall::teardown_all`] removes exactly Berth's table.

pub mod dns;
pub mod files;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod network;
mod persist;
mod subnet;
mod subnet6;

pub use persist::PersistError;
pub use subnet::{Subnet, SubnetParseError};
pub use subnet6::{Subnet6, Subnet6ParseError};
