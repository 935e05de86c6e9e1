//! Test-only crash points. `BERTH_FAULT=<op>:<step>` (e.g. `create:after-snapshot`) makes the
//! daemon `abort()` when it reaches that step, as a power cut or a `kill -9` there would: the
//! crash tests then restart it and check that nothing leaked.
//!
//! Always compiled in, inert unless the variable is set: the tests drive the very `berthd`
//! that `cargo build --bins` makes (a cargo feature would need a second build of the daemon
//! and would leave the shipped binary's crash paths untested). The cost when unset is one
//! read of a `OnceLock` per step.

use std::sync::OnceLock;

/// The variable that names the step to crash at.
pub const VAR: &str = "BERTH_FAULT";

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var(VAR).ok().filter(|v| !v.is_empty()))
        .as_deref()
}

/// Whether `step` is the armed fault point.
fn is_armed(step: &str) -> bool {
    armed() == Some(step)
}

/// Crashes the process here when `step` is the armed fault point; nothing otherwise.
pub fn point(step: &str) {
    if is_armed(step) {
        // Logged first so a test can tell the crash came from here.
        eprintln!("berth: {VAR}={step}: aborting at this fault point");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarmed_points_do_nothing() {
        // The test process has no BERTH_FAULT (tests that need one run berthd with it).
        assert!(std::env::var_os(VAR).is_none());
        assert!(!is_armed("create:after-snapshot"));
        point("create:after-snapshot");
    }
}
