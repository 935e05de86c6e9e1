//! The context's transfer as a progress vertex (`[internal] load build context`, BuildKit's
//! name): the client's tar is unpacked before the build starts, so its size and time are
//! shown first.

use std::io::Read;
use std::path::Path;

use berth_build::engine::ProgressSink;

use super::BuildRequestError;

/// Runs `unpack` on `context`, reported on `progress` with the bytes read.
pub(super) fn unpack_reported<R: Read>(
    progress: Option<&ProgressSink>,
    context: R,
    dir: &Path,
    unpack: impl FnOnce(Counting<R>, &Path) -> Result<(), BuildRequestError>,
) -> Result<(), BuildRequestError> {
    let vertex = progress.map(|p| p.start("[internal] load build context"));
    let started = vertex.as_ref().map(|v| v.now());
    let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let result = unpack(
        Counting {
            inner: context,
            count: counted.clone(),
        },
        dir,
    );
    let Some(vertex) = vertex else {
        return result;
    };
    let bytes = counted.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(started) = started {
        vertex.end_status(
            &format!("transferring context: {}", human_bytes(bytes)),
            started,
        );
    }
    match &result {
        Ok(()) => vertex.done(),
        Err(e) => vertex.fail(e.to_string()),
    }
    result
}

/// A reader that counts what passes through.
pub(super) struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Decimal units, two decimals above 1 kB (`1.23kB`), as BuildKit prints sizes.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.2}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_build::engine::{ProgressEvent, ProgressKind};
    use std::sync::{Arc, Mutex};

    #[test]
    fn the_transfer_is_a_vertex_with_its_size() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let sink = ProgressSink::new(move |e: &ProgressEvent| into.lock().unwrap().push(e.clone()));
        let data = vec![7u8; 1500];
        let dir = Path::new("/nonexistent-progress7");
        unpack_reported(Some(&sink), &data[..], dir, |mut r, _| {
            std::io::copy(&mut r, &mut std::io::sink()).unwrap();
            Ok(())
        })
        .unwrap();
        let kinds: Vec<ProgressKind> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.clone())
            .collect();
        assert_eq!(
            kinds[0],
            ProgressKind::Started {
                name: "[internal] load build context".into()
            }
        );
        assert!(
            matches!(&kinds[1], ProgressKind::Status { id, completed: Some(_), .. }
                     if id == "transferring context: 1.50kB"),
            "{kinds:?}"
        );
        assert!(matches!(kinds[2], ProgressKind::Done { .. }), "{kinds:?}");
    }
}
