//! v1 freezer: write FROZEN/THAWED to freezer.state and wait until the kernel reports it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{CgroupError, FreezerState, fs};

const STATE: &str = "freezer.state";
const TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn set(dir: &Path, state: FreezerState) -> Result<(), CgroupError> {
    let wanted = match state {
        FreezerState::Frozen => "FROZEN",
        FreezerState::Thawed => "THAWED",
    };
    fs::write(dir, STATE, wanted)?;
    let started = Instant::now();
    let mut delay = Duration::from_micros(100);
    let mut polls = 0u32;
    loop {
        let current = fs::read(dir, STATE)?;
        if current.trim() == wanted {
            return Ok(());
        }
        if started.elapsed() > TIMEOUT {
            if state == FreezerState::Frozen {
                // Do not leave the container half frozen.
                let _ = fs::write(dir, STATE, "THAWED");
            }
            return Err(CgroupError::FreezeTimeout {
                path: dir.join(STATE),
                wanted,
                last: current.trim().to_owned(),
                millis: TIMEOUT.as_millis() as u64,
            });
        }
        // A task that forked while freezing keeps the cgroup FREEZING; writing FROZEN again
        // makes the kernel retry the stragglers.
        polls += 1;
        if state == FreezerState::Frozen && polls.is_multiple_of(10) {
            fs::write(dir, STATE, wanted)?;
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

/// FREEZING (not every task stopped yet) counts as thawed: the container can still run.
pub(super) fn state(dir: &Path) -> Result<FreezerState, CgroupError> {
    let content = fs::read(dir, STATE)?;
    match content.trim() {
        "FROZEN" => Ok(FreezerState::Frozen),
        "THAWED" | "FREEZING" => Ok(FreezerState::Thawed),
        _ => Err(CgroupError::Parse {
            path: dir.join(STATE),
            what: "a freezer state",
            content,
        }),
    }
}
