//! Per-process settings applied by the container's init (and by `exec`) just before `execve`.
//!
//! The init calls these in this order (as runc does):
//! `rlimits::apply` → `oom::set_score_adj` → `lsm::apply` → (with a terminal: `console::*`) →
//! `caps::drop_bounding` → `caps::set_keep(true)` → `user::switch` → `caps::set_keep(false)` →
//! `caps::apply` → `caps::no_new_privs` → `seccomp::load` → `execve`.
//! (Without `noNewPrivileges`, `seccomp::load` runs before `caps::drop_bounding`, while the
//! process still holds CAP_SYS_ADMIN.)
//!
//! Beyond that sequence: `console::recv_master` is the receiving end of a console socket,
//! `seccomp::load_with_notify` returns the SCMP_ACT_NOTIFY listener fd for a seccomp agent,
//! and `seccomp::CompiledFilter::compile_cached` lets a runtime compile each profile once
//! (libseccomp costs milliseconds per Docker-sized profile; loading a compiled one does not).

pub mod caps;
pub mod console;
pub mod hooks;
pub mod lsm;
pub mod oom;
pub mod rlimits;
pub mod seccomp;
mod sys;
pub mod user;
