//! `berth-runc`: runc's command line over berth-runtime.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("berth-runc: no commands yet")
}
