//! Which stage is built by which thread, shared by every builder of one build: a stage is
//! built once, by the first thread that needs it, except that stages planned for the
//! prebuilding threads are left to them; a thread needing a stage another one is building
//! (or will build) waits for it. Waits that would close a loop (stage A reads B while B reads
//! A, on two threads) are refused instead of hanging.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

use super::Built;

#[derive(Default)]
pub(in crate::engine) struct StageBoard {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    slots: HashMap<usize, Slot>,
    /// The stage each waiting thread waits for.
    waiting: HashMap<ThreadId, usize>,
    /// The build failed: stages not yet started are not started.
    abandoned: bool,
}

enum Slot {
    /// To be built by the prebuilding threads.
    Planned,
    Building(ThreadId),
    Done(Built),
    Failed,
}

/// What [`StageBoard::claim`] found.
pub(super) enum Claim<'b> {
    /// Built already (perhaps after waiting for another thread).
    Done(Built),
    /// This thread builds it now, and publishes it through the guard.
    Mine(Building<'b>),
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClaimError {
    /// Waiting would wait, through other threads, for this thread.
    Cycle,
    /// The thread building it failed (its error is reported by that thread).
    Failed,
}

impl StageBoard {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leaves `stages` to the prebuilding threads (claims with `prebuilding`).
    pub(super) fn plan(&self, stages: impl IntoIterator<Item = usize>) {
        let mut state = self.lock();
        for index in stages {
            state.slots.entry(index).or_insert(Slot::Planned);
        }
    }

    /// The prebuilding threads are done: a planned stage they did not build (they stopped
    /// at an error) fails whoever waits for it.
    pub(super) fn end_plan(&self) {
        let mut state = self.lock();
        for slot in state.slots.values_mut() {
            if matches!(slot, Slot::Planned) {
                *slot = Slot::Failed;
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// The stage built, or the right to build it; waits while another thread builds it or,
    /// unless `prebuilding`, while it is planned for the prebuilding threads.
    pub(super) fn claim(&self, index: usize, prebuilding: bool) -> Result<Claim<'_>, ClaimError> {
        let me = thread::current().id();
        let mut state = self.lock();
        loop {
            let owner = match state.slots.get(&index) {
                Some(Slot::Done(built)) => return Ok(Claim::Done(built.clone())),
                Some(Slot::Failed) => return Err(ClaimError::Failed),
                Some(Slot::Building(owner)) => Some(*owner),
                Some(Slot::Planned) if !prebuilding => None,
                None | Some(Slot::Planned) => {
                    state.slots.insert(index, Slot::Building(me));
                    return Ok(Claim::Mine(Building {
                        board: self,
                        index,
                        published: false,
                    }));
                }
            };
            if owner.is_some_and(|owner| state.waits_for(owner, me)) {
                return Err(ClaimError::Cycle);
            }
            state.waiting.insert(me, index);
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
            state.waiting.remove(&me);
        }
    }

    pub(super) fn is_done(&self, index: usize) -> bool {
        matches!(self.lock().slots.get(&index), Some(Slot::Done(_)))
    }

    /// Marks the build failed: whoever prebuilds stages stops starting new ones.
    pub(super) fn abandon(&self) {
        self.lock().abandoned = true;
    }

    pub(super) fn abandoned(&self) -> bool {
        self.lock().abandoned
    }
}

impl State {
    /// Whether `owner`, following what each thread waits for, ends up waiting for `me`.
    fn waits_for(&self, mut owner: ThreadId, me: ThreadId) -> bool {
        // Each step moves to another thread; more steps than threads means a loop not
        // involving `me`, which its own members detect.
        for _ in 0..=self.waiting.len() {
            if owner == me {
                return true;
            }
            let Some(stage) = self.waiting.get(&owner) else {
                return false;
            };
            match self.slots.get(stage) {
                Some(Slot::Building(next)) => owner = *next,
                _ => return false,
            }
        }
        false
    }
}

/// The right to build one stage; dropped unpublished (an error, a panic), the stage is marked
/// failed so no one waits for it forever.
pub(super) struct Building<'b> {
    board: &'b StageBoard,
    index: usize,
    published: bool,
}

impl Building<'_> {
    pub(super) fn publish(mut self, built: &Built) {
        self.settle(Slot::Done(built.clone()));
    }

    fn settle(&mut self, slot: Slot) {
        self.published = true;
        self.board.lock().slots.insert(self.index, slot);
        self.board.changed.notify_all();
    }
}

impl Drop for Building<'_> {
    fn drop(&mut self) {
        if !self.published {
            self.settle(Slot::Failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cache::CacheKey;
    use crate::engine::config::ImageConfig;
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::Duration;

    fn built(key: &str) -> Built {
        Built {
            config: ImageConfig::from_base(None, "1970-01-01T00:00:00Z"),
            layers: Vec::new(),
            chain: None,
            cache_key: CacheKey(key.to_string()),
            skip_cache: false,
        }
    }

    /// A thread claiming stage `index` (not prebuilding), returned once it waits: what its
    /// claim then gives, as the stage's cache key.
    fn waiter(
        board: &Arc<StageBoard>,
        index: usize,
    ) -> thread::JoinHandle<Result<String, ClaimError>> {
        let handle = {
            let board = board.clone();
            thread::spawn(move || {
                board.claim(index, false).map(|claim| match claim {
                    Claim::Done(built) => built.cache_key.0,
                    Claim::Mine(_) => panic!("stage {index} was for another thread to build"),
                })
            })
        };
        while !board.lock().waiting.contains_key(&handle.thread().id()) {
            thread::sleep(Duration::from_millis(1));
        }
        handle
    }

    #[test]
    fn a_stage_is_built_once_and_waiters_get_it() {
        let board = Arc::new(StageBoard::default());
        let Ok(Claim::Mine(building)) = board.claim(1, false) else {
            panic!("the first claim builds");
        };
        let waiter = waiter(&board, 1);
        building.publish(&built("k1"));
        assert_eq!(waiter.join().unwrap(), Ok("k1".to_string()));
        assert!(board.is_done(1));
    }

    #[test]
    fn a_failed_stage_fails_its_waiters() {
        let board = Arc::new(StageBoard::default());
        let Ok(Claim::Mine(building)) = board.claim(2, false) else {
            panic!("the first claim builds");
        };
        let waiter = waiter(&board, 2);
        drop(building);
        assert_eq!(waiter.join().unwrap(), Err(ClaimError::Failed));
        assert!(matches!(board.claim(2, false), Err(ClaimError::Failed)));
    }

    #[test]
    fn a_planned_stage_waits_for_the_prebuilder() {
        let board = Arc::new(StageBoard::default());
        board.plan([3]);
        let target = waiter(&board, 3);
        let Ok(Claim::Mine(building)) = board.claim(3, true) else {
            panic!("the prebuilder builds the planned stage");
        };
        building.publish(&built("k3"));
        assert_eq!(target.join().unwrap(), Ok("k3".to_string()));
    }

    #[test]
    fn a_planned_stage_never_built_fails_its_waiters() {
        let board = Arc::new(StageBoard::default());
        board.plan([4]);
        let waiter = waiter(&board, 4);
        board.end_plan();
        assert_eq!(waiter.join().unwrap(), Err(ClaimError::Failed));
    }

    #[test]
    fn two_threads_waiting_for_each_other_is_a_cycle() {
        let board = Arc::new(StageBoard::default());
        let Ok(Claim::Mine(mine)) = board.claim(0, false) else {
            panic!("stage 0 is ours");
        };
        let (claimed_tx, claimed_rx) = mpsc::channel();
        let other = {
            let board = board.clone();
            thread::spawn(move || {
                let Ok(Claim::Mine(theirs)) = board.claim(1, false) else {
                    panic!("stage 1 is theirs");
                };
                claimed_tx.send(()).unwrap();
                // Waits for stage 0 (ours) until we find the loop and give up stage 0.
                let result = board.claim(0, false).map(|_| ());
                drop(theirs);
                result
            })
        };
        claimed_rx.recv().unwrap();
        // Until the other thread is waiting, our claim of 1 is a plain wait: retry.
        let seen = loop {
            let waiting = board.lock().waiting.contains_key(&other.thread().id());
            if waiting {
                break board.claim(1, false).map(|_| ());
            }
            thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(seen, Err(ClaimError::Cycle));
        drop(mine);
        assert_eq!(other.join().unwrap(), Err(ClaimError::Failed));
    }
}
