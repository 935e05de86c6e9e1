//! Pushes the first image of an OCI layout directory and prints the time taken:
//! `cargo run --release -p berth-registry --example client_push -- /tmp/layout 127.0.0.1:5000/x:tag`

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use berth_registry::client::{
    BlobSource, ClientConfig, LayoutDir, PushOptions, Reference, RegistryClient,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, reference] = args.as_slice() else {
        anyhow::bail!("usage: client_push LAYOUT_DIR REFERENCE");
    };
    let layout = Arc::new(LayoutDir::open(std::path::Path::new(dir))?);
    let (root, _) = layout
        .roots()?
        .into_iter()
        .next()
        .context("the layout's index.json lists no image")?;
    let reference = Reference::parse_normalized(reference)?;
    let client = RegistryClient::new(ClientConfig::default())?;
    let start = Instant::now();
    let report = client
        .push(layout, &root, &reference, &PushOptions::default())
        .await
        .with_context(|| format!("pushing to {reference}"))?;
    println!(
        "{} {report:?} in {:.3}s",
        root.digest,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
