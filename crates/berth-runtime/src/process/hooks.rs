//! OCI hooks: run each with its args/env, the container state as JSON on stdin, and its timeout.

use oci_spec::runtime::Hook;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hooks not implemented yet")]
    Unimplemented,
}

/// Runs `hooks` in order; the first failing hook stops the sequence and is reported by path,
/// exit status and stderr. `state_json` is the OCI state document.
pub fn run(hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    let _ = (hooks, state_json);
    Err(HookError::Unimplemented)
}
