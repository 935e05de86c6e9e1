//! berth-shim: the per-container supervisor. One shim per container is the parent
//! (subreaper) of the container's init, keeps its stdio (json-file log, attach socket), takes
//! commands on a control socket, and records the exit status; it detaches from whoever
//! started it so containers survive a daemon restart.
//!
//! The library side (`client`, `exit`, `paths`) is what the daemon uses to talk to a shim.

mod args;
mod attach;
pub mod client;
mod control;
mod daemon;
pub mod exit;
mod json;
mod jsonlog;
pub mod paths;
mod reexec;
pub mod resident;
mod setup;
mod supervise;
mod sys;

pub use shim::main_entry;

mod shim;
