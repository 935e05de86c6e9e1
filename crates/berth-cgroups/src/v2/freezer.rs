//! v2 freezer: cgroup.freeze, confirmed by `frozen 1` in cgroup.events.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{CgroupError, FreezerState, fs};

const TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn set(dir: &Path, state: FreezerState) -> Result<(), CgroupError> {
    let (value, wanted) = match state {
        FreezerState::Frozen => ("1", "frozen 1"),
        FreezerState::Thawed => ("0", "frozen 0"),
    };
    fs::write(dir, "cgroup.freeze", value)?;
    let started = Instant::now();
    let mut delay = Duration::from_micros(100);
    loop {
        let current = frozen_flag(dir)?;
        if (current == 1) == (state == FreezerState::Frozen) {
            return Ok(());
        }
        if started.elapsed() > TIMEOUT {
            if state == FreezerState::Frozen {
                let _ = fs::write(dir, "cgroup.freeze", "0");
            }
            return Err(CgroupError::FreezeTimeout {
                path: dir.join("cgroup.events"),
                wanted,
                last: format!("frozen {current}"),
                millis: TIMEOUT.as_millis() as u64,
            });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

pub(super) fn state(dir: &Path) -> Result<FreezerState, CgroupError> {
    Ok(if frozen_flag(dir)? == 1 {
        FreezerState::Frozen
    } else {
        FreezerState::Thawed
    })
}

fn frozen_flag(dir: &Path) -> Result<u64, CgroupError> {
    let events = fs::read_flat_keyed(dir, "cgroup.events")?;
    events
        .get("frozen")
        .copied()
        .ok_or_else(|| CgroupError::Parse {
            path: dir.join("cgroup.events"),
            what: "the frozen field (kernel >= 5.2)",
            content: String::new(),
        })
}
