//! Pulls an image into an OCI layout directory and prints the time taken:
//! `cargo run --release -p berth-registry --example client_pull -- 127.0.0.1:5000/x:tag /tmp/out [--bars]`

use berth_oci::Reference;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use berth_registry::client::{
    BarRenderer, ClientConfig, LayoutDir, LineRenderer, Progress, PullOptions, RegistryClient,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reference, dir, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: client_pull REFERENCE LAYOUT_DIR [--bars]");
    };
    let progress: Arc<dyn Progress> = if rest.iter().any(|a| a == "--bars") {
        Arc::new(BarRenderer::stderr())
    } else {
        Arc::new(LineRenderer::new(std::io::stderr()))
    };
    let reference = Reference::parse_normalized(reference)?;
    let layout = Arc::new(LayoutDir::create(std::path::Path::new(dir))?);
    let client = RegistryClient::new(ClientConfig::default())?;
    let start = Instant::now();
    let pulled = client
        .pull(
            &reference,
            layout,
            &PullOptions {
                platform: None,
                progress,
            },
        )
        .await
        .with_context(|| format!("pulling {reference}"))?;
    println!(
        "{} {} blobs in {:.3}s",
        pulled.manifest.digest,
        pulled.downloaded,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
