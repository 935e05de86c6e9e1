//! Which CPU the init starts on.
//!
//! Right after `clone` the init and its creator have independent kernel work to do: the init
//! makes its namespaces (a network namespace alone is ~0.5 ms here) while we create and
//! configure its cgroups (~0.45 ms on v1). A scheduler that keeps a new task on its parent's
//! CPU (this VM's kernel packs tasks; others may too when the parent looks about to sleep)
//! runs the init only once we block, which serializes the two. So we move the init to any
//! other CPU we may use, and it takes back the mask it would have inherited (ours) after
//! `Go`, which we send only after moving it: it never runs its container with our tweak.

use rustix::process::Pid;
use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};

#[derive(Debug, Clone)]
pub(crate) struct Placement {
    inherited: CpuSet,
    elsewhere: CpuSet,
}

impl Placement {
    /// `None` when we may only run on one CPU (or cannot tell): there is nowhere else to go.
    pub(crate) fn elsewhere() -> Option<Placement> {
        let inherited = sched_getaffinity(None).ok()?;
        let current = sched_getcpu();
        if current >= CpuSet::MAX_CPU {
            return None;
        }
        let mut elsewhere = inherited;
        elsewhere.unset(current);
        (elsewhere.count() > 0).then_some(Placement {
            inherited,
            elsewhere,
        })
    }

    /// Moves the freshly cloned init off our CPU. Best effort: failing only loses the overlap.
    pub(crate) fn move_init(&self, pid: i32) {
        if let Some(pid) = Pid::from_raw(pid) {
            let _ = sched_setaffinity(Some(pid), &self.elsewhere);
        }
    }

    /// Moves us off our CPU, for a child just cloned there. Best effort, like `move_init`.
    pub(crate) fn step_aside(&self) {
        let _ = sched_setaffinity(None, &self.elsewhere);
    }

    /// The CPUs of the mask the init takes back (see [`Placement::restoring`]).
    pub(crate) fn inherited_cpus(&self) -> Vec<usize> {
        (0..CpuSet::MAX_CPU)
            .filter(|cpu| self.inherited.is_set(*cpu))
            .collect()
    }

    /// For an init started by a spawner: restores the mask made of `cpus`.
    pub(crate) fn restoring(cpus: &[usize]) -> Placement {
        let mut inherited = CpuSet::new();
        for cpu in cpus.iter().filter(|cpu| **cpu < CpuSet::MAX_CPU) {
            inherited.set(*cpu);
        }
        Placement {
            inherited,
            elsewhere: inherited,
        }
    }

    /// In the init, once `Go` has arrived: back to the mask it inherited from us.
    pub(crate) fn restore(&self) -> std::io::Result<()> {
        sched_setaffinity(None, &self.inherited).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elsewhere_leaves_out_only_the_current_cpu() {
        let inherited = sched_getaffinity(None).unwrap();
        match Placement::elsewhere() {
            None => assert_eq!(inherited.count(), 1),
            Some(p) => {
                assert_eq!(p.elsewhere.count() + 1, inherited.count());
                assert_eq!(p.inherited, inherited);
            }
        }
    }
}
