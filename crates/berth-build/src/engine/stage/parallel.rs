//! Independent stages build concurrently: the stages the target needs form a DAG (FROM an
//! earlier stage, `COPY --from`, `RUN --mount from=`); every wave of two or more stages whose
//! dependencies are built runs on scoped threads, each with its own builder sharing the
//! store; a wave of one stage is built on the caller's thread. The target itself, and
//! anything this analysis missed, is then built in order by the caller's builder (which finds
//! the waves' results already done).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::{Builder, Built};
use crate::engine::OutputSink;
use crate::engine::error::BuildError;
use crate::expand::EnvList;
use crate::instructions::{Instruction, Mount};

/// One stage built on a thread: its result and what its builder counted.
struct WaveStage {
    index: usize,
    built: Built,
    runs_executed: usize,
    steps_cached: usize,
    layers_created: usize,
    copies_direct: usize,
}

impl Builder<'_> {
    /// Prebuilds the stages `target` depends on, wave by wave, in parallel.
    pub fn prebuild_dependencies(&mut self, target: usize) -> Result<(), BuildError> {
        let deps = self.dependencies(target);
        let mut waiting: BTreeSet<usize> = deps.keys().copied().filter(|i| *i != target).collect();
        loop {
            let ready: Vec<usize> = waiting
                .iter()
                .copied()
                .filter(|i| deps[i].iter().all(|d| self.done.contains_key(d)))
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
                self.done.insert(stage.index, stage.built);
                self.runs_executed += stage.runs_executed;
                self.steps_cached += stage.steps_cached;
                self.layers_created += stage.layers_created;
                self.copies_direct += stage.copies_direct;
                waiting.remove(&stage.index);
            }
        }
    }

    /// Builds `stages` on one thread each; results in the order given.
    fn run_wave(&self, stages: &[usize]) -> Vec<Result<WaveStage, BuildError>> {
        let (store, opts, file, network) = (self.store, self.opts, self.file, self.network);
        std::thread::scope(|scope| {
            let handles: Vec<_> = stages
                .iter()
                .map(|&index| {
                    let ignore = self.ignore.clone();
                    let contexts = self.contexts.clone();
                    let done = self.done.clone();
                    let name = file.stages[index]
                        .name()
                        .map_or_else(|| index.to_string(), str::to_string);
                    scope.spawn(move || {
                        // Concurrent stages' progress interleaves: each line names its stage.
                        let mut own = opts.clone();
                        own.output = opts.output.clone().map(|sink| prefixed(sink, &name));
                        let mut builder =
                            Builder::new(store, &own, file, ignore, contexts, network);
                        builder.done = done;
                        let built = builder.stage(index, &mut Vec::new())?;
                        Ok(WaveStage {
                            index,
                            built,
                            runs_executed: builder.runs_executed,
                            steps_cached: builder.steps_cached,
                            layers_created: builder.layers_created,
                            copies_direct: builder.copies_direct,
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
            let froms: Vec<&str> = match &step.instruction {
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
            };
            direct.extend(froms.into_iter().filter_map(earlier));
        }
        direct
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
}
