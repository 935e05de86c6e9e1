//! "Step N/M" numbers over the whole Dockerfile, counted as Docker's classic builder counts
//! them: the ARG instructions before the first FROM, then every stage's FROM and
//! instructions, up to the target stage. A step's number is its place in the file, so stages
//! built concurrently (or skipped because the target does not need them) show the numbers a
//! sequential build would, and no two steps share one.

use super::Builder;
use crate::instructions::BuildFile;

/// How a Dockerfile's steps are numbered for one target.
#[derive(Debug, Clone)]
pub(super) struct StepNumbers {
    /// Meta ARG instructions (one per line, however many names it declares).
    meta: usize,
    /// The number of each stage's FROM.
    stage_start: Vec<usize>,
    total: usize,
}

impl StepNumbers {
    pub(super) fn new(file: &BuildFile, target: Option<&str>) -> StepNumbers {
        let mut lines: Vec<usize> = file.meta_args.iter().map(|m| m.line).collect();
        lines.dedup();
        let meta = lines.len();
        let last = target
            .and_then(|t| file.stage_index(t))
            .unwrap_or(file.stages.len().saturating_sub(1));
        let mut stage_start = Vec::with_capacity(file.stages.len());
        let mut next = meta + 1;
        for stage in &file.stages {
            stage_start.push(next);
            next += 1 + stage.instructions.len();
        }
        let total = file
            .stages
            .iter()
            .take(last + 1)
            .map(|s| 1 + s.instructions.len())
            .sum::<usize>()
            + meta;
        StepNumbers {
            meta,
            stage_start,
            total,
        }
    }

    /// "N/M" of stage `stage`'s step at `position` (0: its FROM).
    pub(super) fn label(&self, stage: usize, position: usize) -> String {
        let start = self
            .stage_start
            .get(stage)
            .copied()
            .unwrap_or(self.meta + 1);
        format!("{}/{}", start + position, self.total)
    }
}

impl Builder<'_> {
    /// Shows the ARG instructions before the first FROM as the first steps (they only set
    /// values, so there is nothing to run).
    pub fn announce_meta_args(&self) {
        let mut number = 0;
        let mut last_line = None;
        let mut text = String::new();
        for arg in &self.file.meta_args {
            if last_line != Some(arg.line) {
                if !text.is_empty() {
                    self.say(&format!("{text}\n"));
                }
                number += 1;
                text = format!("Step {number}/{} : ARG", self.numbers.total);
                last_line = Some(arg.line);
            }
            text.push(' ');
            text.push_str(&arg.def.name);
            if let Some(default) = &arg.def.default {
                text.push('=');
                text.push_str(default);
            }
        }
        if !text.is_empty() {
            self.say(&format!("{text}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instructions::parse_build_file;
    use crate::parser::parse;

    fn numbers(dockerfile: &str, target: Option<&str>) -> StepNumbers {
        let file = parse_build_file(&parse(dockerfile.as_bytes()).unwrap()).unwrap();
        StepNumbers::new(&file, target)
    }

    #[test]
    fn steps_are_numbered_by_their_place_in_the_file() {
        let text = "ARG V=1\nARG A B\n\
                    FROM busybox AS one\nRUN a\nRUN b\n\
                    FROM busybox AS two\nRUN c\n\
                    FROM one\nCOPY --from=two /c /c\n";
        let all = numbers(text, None);
        assert_eq!(all.label(0, 0), "3/9");
        assert_eq!(all.label(0, 2), "5/9");
        assert_eq!(all.label(1, 0), "6/9");
        assert_eq!(all.label(2, 1), "9/9");
        // Stages after the target are not counted, as the classic builder cuts them off.
        let two = numbers(text, Some("two"));
        assert_eq!(two.label(1, 1), "7/7");
    }
}
