//! Prints Docker's default seccomp profile as berthd puts it in a container's `config.json`
//! (`linux.seccomp`, resolved for this host and Docker's default capabilities), for benchmarks
//! that compare runtimes under the filter every Docker container gets.

use berth_engine::spec::DEFAULT_CAPABILITIES;
use berth_engine::spec::seccomp::{Target, default_profile, resolve};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let caps: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    let seccomp = resolve(&default_profile(), &Target::host(&caps))?;
    println!("{}", serde_json::to_string(&seccomp)?);
    Ok(())
}
