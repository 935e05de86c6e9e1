//! Base images for `POST /build` from their registries (missing ones, or all with `pull=1`):
//! the build runs on a blocking thread, so the async pull runs on the daemon's runtime through
//! its handle. Progress goes to the build's stream as plain lines. Credentials come from the
//! request's `X-Registry-Config` (see build_auth.rs).

use std::sync::Arc;

use berth_engine::Engine;
use berth_engine::build::{BasePuller, OutputSink};
use berth_engine::images::auth;
use berth_engine::images::progress::{ProgressFn, ProgressMessage};
use berth_engine::images::pull::{self, PullJob};
use berth_engine::images::{self as engine_images};

pub struct RegistryPuller {
    pub engine: Arc<Engine>,
    pub runtime: tokio::runtime::Handle,
    pub output: OutputSink,
    pub auths: super::auth::RegistryAuths,
}

impl BasePuller for RegistryPuller {
    fn pull(&self, name: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let reference = engine_images::parse_reference(name)?;
        let credentials = self.auths.for_domain(reference.domain());
        let client = auth::client_for(&self.engine, reference.domain(), credentials)?;
        let resolved = self
            .runtime
            .block_on(pull::resolve(&client, &reference, None))?;
        let output = self.output.clone();
        let progress: ProgressFn = Arc::new(move |m: ProgressMessage| {
            // Per-byte updates would flood the build log; whole-step lines are enough.
            if m.detail.is_none() {
                let line = match &m.id {
                    Some(id) => format!("{id}: {}\n", m.status),
                    None => format!("{}\n", m.status),
                };
                output(line.as_bytes());
            }
        });
        let job = PullJob::start(self.engine.clone(), reference, resolved, progress)?;
        let downloaded = self.runtime.block_on(job.download(&client));
        job.finish(downloaded)?;
        Ok(())
    }
}
