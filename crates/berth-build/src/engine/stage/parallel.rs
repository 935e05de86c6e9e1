//! Independent stages build concurrently: the stages the target needs form a DAG (FROM an
//! earlier stage, `COPY --from`, `RUN --mount from=`); they are prebuilt on another thread
//! while the target's own steps run, and a target step reading a stage not yet built waits
//! for it (the [`StageBoard`](super::board::StageBoard) builds each stage once). Among the
//! prebuilt stages, every wave of two or more whose dependencies are built runs on scoped
//! threads, each with its own builder sharing the store; a wave of one stage is built on the
//! prebuilding thread. Anything this analysis missed is built by whoever needs it first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::{Builder, Built};
use crate::engine::OutputSink;
use crate::engine::error::BuildError;
use crate::expand::EnvList;
use crate::instructions::{Instruction, Mount};

/// One stage built on a thread (its result is on the board): what its builder counted.
struct WaveStage {
    index: usize,
    counts: Counts,
}

/// What a builder counted, to add up across threads.
#[derive(Default)]
struct Counts {
    runs_executed: usize,
    steps_cached: usize,
    layers_created: usize,
    copies_direct: usize,
}

impl Counts {
    fn of(builder: &Builder) -> Counts {
        Counts {
            runs_executed: builder.runs_executed,
            steps_cached: builder.steps_cached,
            layers_created: builder.layers_created,
            copies_direct: builder.copies_direct,
        }
    }

    fn add_to(&self, builder: &mut Builder) {
        builder.runs_executed += self.runs_executed;
        builder.steps_cached += self.steps_cached;
        builder.layers_created += self.layers_created;
        builder.copies_direct += self.copies_direct;
    }
}

impl Builder<'_> {
    /// Builds `target` while another thread prebuilds the stages it depends on. The target's
    /// progress lines are held back until the prebuilt stages have printed theirs, so the
    /// text reads as if the stages were built one after the other.
    pub fn build_target(&mut self, target: usize) -> Result<Built, BuildError> {
        let deps = self.dependencies(target);
        if deps.len() < 2 {
            return self.stage(target, &mut Vec::new());
        }
        self.shared
            .board
            .plan(deps.keys().copied().filter(|i| *i != target));
        let original = self.output.clone();
        let gate = original.clone().map(OutputGate::hold);
        self.output = gate.as_ref().map(OutputGate::sink);
        let mut prebuilder = self.prebuilder(self.opts);
        let (prebuilt, built) = std::thread::scope(|scope| {
            let prebuilder = scope.spawn(|| {
                let result = prebuilder.prebuild_dependencies(target, &deps);
                prebuilder.shared.board.end_plan();
                if let Some(gate) = &gate {
                    gate.release();
                }
                result.map(|()| Counts::of(&prebuilder))
            });
            let built = self.stage(target, &mut Vec::new());
            if built.is_err() {
                self.shared.board.abandon();
            }
            let prebuilt = match prebuilder.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (prebuilt, built)
        });
        self.output = original;
        match (prebuilt, built) {
            // "Stage N failed" only says that another thread's error came first.
            (Err(BuildError::StageFailed { .. }), Err(e)) => Err(e),
            // Otherwise a dependency's error comes first, as it would have built first.
            (Err(e), _) => Err(e),
            (Ok(counts), built) => {
                counts.add_to(self);
                built
            }
        }
    }

    /// Prebuilds the stages `target` depends on (`deps`: [`Builder::dependencies`]), wave
    /// by wave, in parallel.
    fn prebuild_dependencies(
        &mut self,
        target: usize,
        deps: &BTreeMap<usize, BTreeSet<usize>>,
    ) -> Result<(), BuildError> {
        let mut waiting: BTreeSet<usize> = deps.keys().copied().filter(|i| *i != target).collect();
        while !self.shared.board.abandoned() {
            let ready: Vec<usize> = waiting
                .iter()
                .copied()
                .filter(|i| deps[i].iter().all(|d| self.shared.board.is_done(*d)))
                .collect();
            match ready[..] {
                [] => return Ok(()),
                [index] => {
                    // One stage gains nothing from a thread; built here, before the stages
                    // that read it, its progress comes in file order (as Docker's).
                    self.stage(index, &mut Vec::new())?;
                    waiting.remove(&index);
                    continue;
                }
                _ => {}
            }
            for stage in self.run_wave(&ready) {
                let stage = stage?;
                stage.counts.add_to(self);
                waiting.remove(&stage.index);
            }
        }
        Ok(())
    }

    /// Builds `stages` on one thread each; results in the order given.
    fn run_wave(&self, stages: &[usize]) -> Vec<Result<WaveStage, BuildError>> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = stages
                .iter()
                .map(|&index| {
                    let name = self.file.stages[index]
                        .name()
                        .map_or_else(|| index.to_string(), str::to_string);
                    // Concurrent stages' progress interleaves: each line names its stage.
                    let mut own = self.opts.clone();
                    own.output = self.opts.output.clone().map(|sink| prefixed(sink, &name));
                    scope.spawn(move || {
                        let mut builder = self.prebuilder(&own);
                        builder.stage(index, &mut Vec::new())?;
                        Ok(WaveStage {
                            index,
                            counts: Counts::of(&builder),
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join() {
                    Ok(result) => result,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }

    /// The stages `target` needs (itself included), each with the stages it reads directly.
    fn dependencies(&self, target: usize) -> BTreeMap<usize, BTreeSet<usize>> {
        let mut found = BTreeMap::new();
        let mut todo = vec![target];
        while let Some(index) = todo.pop() {
            if found.contains_key(&index) {
                continue;
            }
            let direct = self.direct_dependencies(index);
            todo.extend(direct.iter().copied());
            found.insert(index, direct);
        }
        found
    }

    /// Stage references as far as they can be seen before building (expanded with the build
    /// args; a reference that needs the base image's ENV is found later, when building).
    fn direct_dependencies(&self, index: usize) -> BTreeSet<usize> {
        let mut direct = BTreeSet::new();
        if self.is_replaced(index) {
            return direct;
        }
        let Ok(stage) = self
            .file
            .resolve_stage(index, &self.opts.build_args, &EnvList::new())
        else {
            return direct;
        };
        let earlier = |name: &str| self.file.stage_index(name).filter(|i| *i < index);
        let lower = stage.from.image.to_lowercase();
        if let Some(i) = self.file.stages[..index]
            .iter()
            .position(|s| s.name() == Some(lower.as_str()))
        {
            direct.insert(i);
        }
        for step in &stage.instructions {
            direct.extend(froms(&step.instruction).into_iter().filter_map(earlier));
        }
        direct
    }

    /// Waits for (or builds) the stages `instruction` reads, so that its step starts with
    /// its inputs ready, as BuildKit's vertices do.
    pub(super) fn await_stages_read_by(
        &mut self,
        instruction: &Instruction,
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        for from in froms(instruction) {
            if let super::named::FromRef::Stage(index) = self.resolve_from(from)
                && !visiting.contains(&index)
            {
                self.stage(index, visiting)?;
            }
        }
        Ok(())
    }
}

/// The `--from` names `instruction` reads (COPY --from, RUN --mount from=).
fn froms(instruction: &Instruction) -> Vec<&str> {
    match instruction {
        Instruction::Copy(c) => c.from.as_deref().into_iter().collect(),
        Instruction::Run(r) => r
            .mounts
            .iter()
            .filter_map(|m| match m {
                Mount::Bind { from, .. } | Mount::Cache { from, .. } => from.as_deref(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Holds what is written to it until released, then passes it on.
struct OutputGate {
    sink: OutputSink,
    held: Mutex<Option<Vec<u8>>>,
}

impl OutputGate {
    fn hold(sink: OutputSink) -> Arc<OutputGate> {
        Arc::new(OutputGate {
            sink,
            held: Mutex::new(Some(Vec::new())),
        })
    }

    fn sink(self: &Arc<Self>) -> OutputSink {
        let gate = self.clone();
        Arc::new(move |chunk: &[u8]| {
            // Written under the lock, so nothing passes what `release` flushes.
            let mut held = gate.held.lock().unwrap_or_else(|p| p.into_inner());
            match held.as_mut() {
                Some(buffer) => buffer.extend_from_slice(chunk),
                None => (gate.sink)(chunk),
            }
        })
    }

    fn release(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(buffer) = held.take()
            && !buffer.is_empty()
        {
            (self.sink)(&buffer);
        }
    }
}

/// A sink that starts every line with `[name] `.
fn prefixed(sink: OutputSink, name: &str) -> OutputSink {
    let prefix = format!("[{name}] ");
    let at_line_start = Mutex::new(true);
    Arc::new(move |chunk: &[u8]| {
        let mut start = at_line_start.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = Vec::with_capacity(chunk.len() + prefix.len());
        for &byte in chunk {
            if *start {
                text.extend_from_slice(prefix.as_bytes());
            }
            text.push(byte);
            *start = byte == b'\n';
        }
        sink(&text);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_names_its_stage() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let sink: OutputSink = Arc::new(move |c: &[u8]| into.lock().unwrap().extend_from_slice(c));
        let tagged = prefixed(sink, "gen");
        tagged(b"Step 1/3 : FROM x\npart");
        tagged(b"ial line\n");
        tagged(b"next\n");
        assert_eq!(
            String::from_utf8(seen.lock().unwrap().clone()).unwrap(),
            "[gen] Step 1/3 : FROM x\n[gen] partial line\n[gen] next\n"
        );
    }

    #[test]
    fn a_held_output_comes_after_what_is_written_before_release() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let sink: OutputSink = Arc::new(move |c: &[u8]| into.lock().unwrap().extend_from_slice(c));
        let gate = OutputGate::hold(sink.clone());
        let held = gate.sink();
        held(b"target 1\n");
        sink(b"dependency\n");
        gate.release();
        held(b"target 2\n");
        assert_eq!(
            String::from_utf8(seen.lock().unwrap().clone()).unwrap(),
            "dependency\ntarget 1\ntarget 2\n"
        );
    }
}
