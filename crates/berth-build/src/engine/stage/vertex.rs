//! Steps as progress vertices (see `engine::progress`): each RUN/COPY/ADD/WORKDIR, a FROM of
//! an image and each base image's metadata load is a vertex; RUN output goes to its log.

use std::sync::Arc;

use berth_oci::Reference;

use super::vertex_names::{display_text, touches_fs};
use super::{Builder, Built};
use crate::engine::OutputSink;
use crate::engine::error::BuildError;
use crate::engine::progress::Vertex;
use crate::instructions::LocatedInstruction;

impl Builder<'_> {
    /// The vertex name of `step` in stage `stage` (`None`: not a vertex, or nobody follows
    /// progress). Triggers of the base are shown as `ONBUILD <trigger>`.
    pub(super) fn step_vertex(
        &mut self,
        stage: usize,
        step: &LocatedInstruction,
        trigger: bool,
    ) -> Option<String> {
        if self.opts.progress.is_none() || !touches_fs(&step.instruction) {
            return None;
        }
        let text = display_text(&step.source);
        let text = if trigger {
            format!("ONBUILD {text}")
        } else {
            text
        };
        Some(self.vertex_names.next(stage, &text))
    }

    /// Runs `work` as the vertex `name` (just runs it without one): cached when the step was
    /// a cache hit, failed with the step's error; RUN output inside goes to its log.
    pub(super) fn in_vertex<T>(
        &mut self,
        name: Option<String>,
        work: impl FnOnce(&mut Self) -> Result<T, BuildError>,
    ) -> Result<T, BuildError> {
        let (Some(progress), Some(name)) = (self.opts.progress.clone(), name) else {
            return work(self);
        };
        let vertex = progress.start(name);
        self.cache_hit = false;
        let outer = self.active_log.replace(vertex.output());
        let result = work(self);
        self.active_log = outer;
        match &result {
            Ok(_) if self.cache_hit => vertex.cached(),
            Ok(_) => vertex.done(),
            Err(e) => vertex.fail(vertex_error(e)),
        }
        result
    }

    /// Once the stage's base is known: counts it (and its ONBUILD triggers) and shows the
    /// FROM of an image, cached unless this build pulled it.
    pub(super) fn base_vertex(&mut self, stage: usize, image: &str, base: &Built) {
        let Some(progress) = self.opts.progress.clone() else {
            return;
        };
        let lower = image.to_lowercase();
        let image_base = !image.eq_ignore_ascii_case("scratch")
            && !self.file.stages[..stage]
                .iter()
                .any(|s| s.name() == Some(lower.as_str()));
        let triggers = base.config.doc["config"]["OnBuild"]
            .as_array()
            .map_or(0, Vec::len);
        self.vertex_names.begin_stage(stage, image_base, triggers);
        if !image_base {
            return;
        }
        let mut shown = normalized(image);
        if let Ok(record) = self.store.images.resolve(image)
            && !shown.contains('@')
        {
            shown = format!("{shown}@{}", record.manifest);
        }
        let vertex = progress.start(self.vertex_names.next(stage, &format!("FROM {shown}")));
        if self.pulled.contains(image) {
            vertex.done();
        } else {
            vertex.cached();
        }
    }

    /// `[internal] load metadata for <image>`, once per image and build.
    pub(super) fn metadata_vertex(&self, image: &str) -> Option<Vertex> {
        let progress = self.opts.progress.as_ref()?;
        progress.start_once(format!(
            "[internal] load metadata for {}",
            normalized(image)
        ))
    }

    /// Where a RUN step's output goes: the classic output and the running vertex's log.
    pub(super) fn step_output(&self) -> Option<OutputSink> {
        match (self.output.clone(), self.active_log.clone()) {
            (Some(classic), Some(log)) => Some(Arc::new(move |chunk: &[u8]| {
                classic(chunk);
                log(chunk);
            })),
            (classic, log) => classic.or(log),
        }
    }
}

/// Ends `vertex` as `result` says.
pub(super) fn finish<T>(vertex: Option<Vertex>, result: &Result<T, BuildError>) {
    match (vertex, result) {
        (Some(v), Ok(_)) => v.done(),
        (Some(v), Err(e)) => v.fail(vertex_error(e)),
        (None, _) => {}
    }
}

/// A failed vertex's message, BuildKit's wording for a failing RUN.
fn vertex_error(e: &BuildError) -> String {
    match e {
        BuildError::RunFailed { command, code, .. } => {
            format!("process \"{command}\" did not complete successfully: exit code: {code}")
        }
        other => other.to_string(),
    }
}

fn normalized(image: &str) -> String {
    Reference::parse_normalized(image)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| image.to_string())
}
