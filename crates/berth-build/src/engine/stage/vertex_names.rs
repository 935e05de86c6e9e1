//! Vertex names as BuildKit's Dockerfile frontend gives them: `[<stage> <k>/<n>] <instruction>`.
//! The stage is its `AS` name, else `stage-<index>`, and is left out when the Dockerfile has
//! a single stage (and reads no other image); `n` counts the stage's FROM (when the base is
//! an image), its RUN/COPY/ADD/WORKDIR instructions and its base's ONBUILD triggers; `k` is
//! padded to the width of `n`. Metadata instructions (ENV, LABEL, …) are not vertices.

use crate::instructions::{BuildFile, Instruction, Mount};

/// Per-stage counters for one build.
#[derive(Debug, Clone)]
pub(super) struct VertexNames {
    stages: Vec<StageCounter>,
}

#[derive(Debug, Clone, Default)]
struct StageCounter {
    /// `"gen "`, `"stage-1 "` or empty.
    prefix: String,
    total: usize,
    next: usize,
}

impl VertexNames {
    pub(super) fn new(file: &BuildFile) -> VertexNames {
        let reads_other_images = file.stages.iter().any(|s| {
            s.instructions.iter().any(|step| match &step.instruction {
                Instruction::Copy(c) => c.from.is_some(),
                Instruction::Run(r) => r.mounts.iter().any(|m| {
                    matches!(
                        m,
                        Mount::Bind { from: Some(_), .. } | Mount::Cache { from: Some(_), .. }
                    )
                }),
                _ => false,
            })
        });
        let named = file.stages.len() > 1 || reads_other_images;
        let stages = file
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| StageCounter {
                prefix: match (named, stage.name()) {
                    (false, _) => String::new(),
                    (true, Some(name)) => format!("{name} "),
                    (true, None) => format!("stage-{index} "),
                },
                total: stage
                    .instructions
                    .iter()
                    .filter(|s| touches_fs(&s.instruction))
                    .count(),
                next: 0,
            })
            .collect();
        VertexNames { stages }
    }

    /// Counts what the stage learns once its base is known: an image FROM and the base's
    /// ONBUILD triggers.
    pub(super) fn begin_stage(&mut self, stage: usize, image_base: bool, triggers: usize) {
        if let Some(counter) = self.stages.get_mut(stage) {
            counter.total += usize::from(image_base) + triggers;
        }
    }

    /// The name of the stage's next vertex, `text` being what it runs (`RUN make`).
    pub(super) fn next(&mut self, stage: usize, text: &str) -> String {
        let Some(counter) = self.stages.get_mut(stage).filter(|c| c.total > 0) else {
            return text.to_string();
        };
        counter.next += 1;
        let width = counter.total.to_string().len();
        format!(
            "[{}{:>width$}/{}] {text}",
            counter.prefix, counter.next, counter.total
        )
    }
}

/// The instructions BuildKit shows as vertices (and counts).
pub(super) fn touches_fs(instruction: &Instruction) -> bool {
    matches!(
        instruction,
        Instruction::Run(_) | Instruction::Copy(_) | Instruction::Add(_) | Instruction::Workdir(_)
    )
}

/// An instruction's source as one line: continuations joined, the keyword upper-cased, a
/// heredoc shown by its first line (`RUN <<EOF (apt-get update...)`).
pub(super) fn display_text(source: &str) -> String {
    let joined = source.replace("\\\r\n", "").replace("\\\n", "");
    let mut lines = joined.lines();
    let first = lines.next().unwrap_or("").trim();
    let (keyword, rest) = first.split_once(' ').unwrap_or((first, ""));
    let mut text = keyword.to_uppercase();
    if !rest.is_empty() {
        text.push(' ');
        text.push_str(rest.trim());
    }
    let body: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    if let Some(line) = body.first() {
        let more = if body.len() > 2 { "..." } else { "" };
        text.push_str(&format!(" ({}{more})", line.trim()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instructions::parse_build_file;
    use crate::parser::parse;

    fn names(dockerfile: &str) -> VertexNames {
        let file = parse_build_file(&parse(dockerfile.as_bytes()).unwrap()).unwrap();
        VertexNames::new(&file)
    }

    #[test]
    fn stages_are_named_and_counted_as_buildkit_does() {
        let mut n = names(
            "FROM busybox AS gen\nENV A=1\nRUN a\nCOPY x /x\n\
             FROM scratch\nCOPY --from=gen /x /x\n\
             FROM gen\nWORKDIR /w\n",
        );
        n.begin_stage(0, true, 0);
        assert_eq!(n.next(0, "FROM busybox"), "[gen 1/3] FROM busybox");
        assert_eq!(n.next(0, "RUN a"), "[gen 2/3] RUN a");
        n.begin_stage(1, false, 0);
        assert_eq!(n.next(1, "COPY x"), "[stage-1 1/1] COPY x");
        // FROM an earlier stage is no vertex and not counted.
        n.begin_stage(2, false, 0);
        assert_eq!(n.next(2, "WORKDIR /w"), "[stage-2 1/1] WORKDIR /w");
    }

    #[test]
    fn a_single_stage_has_no_name_and_wide_totals_pad() {
        let steps = "RUN a\n".repeat(10);
        let mut n = names(&format!("FROM busybox\n{steps}"));
        n.begin_stage(0, true, 1);
        assert_eq!(n.next(0, "FROM busybox"), "[ 1/12] FROM busybox");
        // Reading another image names the stage, as BuildKit then has two states.
        let mut n = names("FROM busybox\nCOPY --from=alpine /x /x\n");
        n.begin_stage(0, true, 0);
        assert_eq!(n.next(0, "FROM busybox"), "[stage-0 1/2] FROM busybox");
        // Nothing counted: the bare text.
        let mut n = names("FROM scratch\nENV A=1\n");
        n.begin_stage(0, false, 0);
        assert_eq!(n.next(0, "ENV A=1"), "ENV A=1");
    }

    #[test]
    fn display_text_is_one_line() {
        assert_eq!(
            display_text("run apt-get update \\\n    && apt-get install -y x"),
            "RUN apt-get update     && apt-get install -y x"
        );
        assert_eq!(
            display_text("RUN <<EOF\necho a\necho b\necho c\nEOF"),
            "RUN <<EOF (echo a...)"
        );
        assert_eq!(display_text("COPY a /b"), "COPY a /b");
    }
}
