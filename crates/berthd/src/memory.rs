//! Keeping the daemon's resident set small over a long life. glibc gives each thread that
//! contends for the allocator an arena of its own (up to 8 per core) and keeps freed memory
//! in them; after a burst of container runs the blocking-pool threads have left free chunks
//! scattered over several arenas, and the burst faulted in code pages the idle daemon never
//! runs. We cap the arenas and, once the daemon has gone quiet after activity, give free heap
//! pages back (`malloc_trim`) and unmap the clean pages of our binary and libraries (they stay
//! in the page cache; the next request maps what it runs again).

use std::time::Duration;

use berth_shim::resident::{self, FaultAround};

use crate::sys;

/// Enough for the two async workers; blocking threads share them.
const ARENA_MAX: i32 = 2;
/// How long the allocator must have been untouched for the daemon to count as idle.
const QUIET_FOR: Duration = Duration::from_secs(2);

/// Call first thing in `main`, before any thread starts.
pub fn configure_allocator() {
    if !sys::set_arena_max(ARENA_MAX) {
        tracing::debug!("mallopt(M_ARENA_MAX) refused; keeping glibc's default arenas");
    }
}

/// Runs forever on the async runtime. Activity shows as a change in the allocator's free
/// bytes; when a whole `QUIET_FOR` passed without one after some activity, trim once.
pub async fn trim_when_idle() {
    let mut ticks = tokio::time::interval(QUIET_FOR);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = sys::free_heap_bytes();
    let mut trimmed = false;
    loop {
        ticks.tick().await;
        let free = sys::free_heap_bytes();
        if free != last {
            trimmed = false;
        } else if !trimmed {
            let released = sys::trim_heap();
            let unmapped = resident::trim(FaultAround::Keep);
            tracing::debug!(
                free,
                released,
                unmapped,
                "idle: trimmed the heap and file pages"
            );
            trimmed = true;
        }
        // The trim itself allocates (reading smaps): start from what it left.
        last = sys::free_heap_bytes();
    }
}
