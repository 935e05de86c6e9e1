//! berth-runtime: an OCI bundle (`config.json` + rootfs) becomes a running container.
//!
//! Layout: `container` holds the lifecycle operations a runtime CLI exposes (create, start, kill,
//! delete, exec, ...); `init` is the code that runs inside the new namespaces up to `execve`;
//! `rootfs` prepares the container's filesystem; `process` applies the per-process settings
//! (capabilities, user, rlimits, seccomp, console, hooks). All raw syscalls live in `sys`
//! modules, each `unsafe` with a `// SAFETY:` line.

mod channel;
pub mod container;
pub mod features;
mod init;
pub mod process;
pub mod rootfs;
pub mod selfexe;
pub mod spec;
mod sys;
