//! Docker-style container networking for Berth: bridges and veth pairs over rtnetlink, IP
//! address management, nftables NAT and port publishing, and per-container resolver files.

pub mod ipam;
pub mod link;
mod persist;
mod subnet;

pub use persist::PersistError;
pub use subnet::{Subnet, SubnetParseError};
pub mod dns;
pub mod files;
pub mod firewall;
pub mod network;
