//! Progress renderers for a CLI: bars on a TTY (indicatif), one line per state change otherwise.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use berth_oci::Digest;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::{Progress, ProgressEvent, TransferState};

/// One bar per blob, Docker style: `a1b2c3d4e5f6: Downloading [====>   ] 12.1 MiB/40.0 MiB`.
pub struct BarRenderer {
    multi: MultiProgress,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
    style: ProgressStyle,
}

impl std::fmt::Debug for BarRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BarRenderer")
    }
}

impl BarRenderer {
    /// Draws to stderr.
    pub fn stderr() -> BarRenderer {
        Self::with_target(ProgressDrawTarget::stderr())
    }

    pub fn with_target(target: ProgressDrawTarget) -> BarRenderer {
        let style =
            ProgressStyle::with_template("{prefix}: {msg:<14} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        BarRenderer {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            style,
        }
    }
}

impl Progress for BarRenderer {
    fn event(&self, e: &ProgressEvent) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bars.entry(e.digest.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(e.total));
            bar.set_style(self.style.clone());
            bar.set_prefix(e.digest.short().to_owned());
            bar
        });
        bar.set_length(e.total);
        bar.set_position(e.done);
        bar.set_message(e.state.label());
        if e.state.is_final() {
            bar.finish();
        }
    }
}

/// Plain lines (logs, CI): one per state change, never per chunk.
pub struct LineRenderer<W: Write + Send> {
    out: Mutex<W>,
    last: Mutex<HashMap<Digest, TransferState>>,
}

impl<W: Write + Send> std::fmt::Debug for LineRenderer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineRenderer")
    }
}

impl<W: Write + Send> LineRenderer<W> {
    pub fn new(out: W) -> LineRenderer<W> {
        LineRenderer {
            out: Mutex::new(out),
            last: Mutex::new(HashMap::new()),
        }
    }

    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl<W: Write + Send> Progress for LineRenderer<W> {
    fn event(&self, e: &ProgressEvent) {
        let changed = self
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(e.digest.clone(), e.state)
            != Some(e.state);
        if !changed {
            return;
        }
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stdout must not fail the transfer.
        let _ = writeln!(
            out,
            "{}: {} ({} bytes)",
            e.digest.short(),
            e.state.label(),
            e.total
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::progress::BlobRole;

    #[test]
    fn line_renderer_prints_state_changes_only() {
        let r = LineRenderer::new(Vec::new());
        let digest = Digest::sha256_of(b"x");
        for (state, done) in [
            (TransferState::Waiting, 0),
            (TransferState::Downloading, 1),
            (TransferState::Downloading, 5),
            (TransferState::Done, 10),
        ] {
            r.event(&ProgressEvent {
                digest: digest.clone(),
                role: BlobRole::Layer,
                state,
                done,
                total: 10,
            });
        }
        let text = String::from_utf8(r.into_inner()).unwrap();
        let short = digest.short();
        assert_eq!(
            text,
            format!(
                "{short}: Waiting (10 bytes)\n{short}: Downloading (10 bytes)\n{short}: Done (10 bytes)\n"
            )
        );
        let bars = BarRenderer::with_target(ProgressDrawTarget::hidden());
        bars.event(&ProgressEvent {
            digest,
            role: BlobRole::Layer,
            state: TransferState::Done,
            done: 10,
            total: 10,
        });
    }
}
