//! Loading scripts with the `nft` tool (one atomic transaction per call).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::FirewallError;

pub(crate) fn load_script(nft: &Path, script: &str) -> Result<(), FirewallError> {
    let spawn_error = |source| FirewallError::RunNft {
        program: nft.to_path_buf(),
        source,
    };
    let mut child = Command::new(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).map_err(spawn_error)?;
    }
    let output = child.wait_with_output().map_err(spawn_error)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FirewallError::NftRejected {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            script: script.to_string(),
        })
    }
}
