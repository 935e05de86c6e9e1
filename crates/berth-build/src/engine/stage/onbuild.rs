//! ONBUILD triggers of a base (an image or an earlier stage) run right after FROM, before the
//! stage's own instructions, as Docker's classic builder does: "# Executing N build
//! triggers", each trigger parsed and dispatched like an instruction of this Dockerfile (same
//! cache, same history entries), then the triggers are cleared so the result does not inherit
//! them.

use serde_json::Value;

use super::{Builder, Built};
use crate::engine::error::BuildError;
use crate::expand::{EnvList, Lexer};
use crate::instructions::{Instruction, LocatedInstruction, parse_instruction};

impl Builder<'_> {
    /// Runs the triggers `state`'s config carries; `line` is the FROM's of stage `stage`.
    pub(super) fn run_onbuild_triggers(
        &mut self,
        stage: usize,
        state: &mut Built,
        line: usize,
        meta: &EnvList,
        build_args: &mut Vec<(String, String)>,
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        let triggers: Vec<String> = state.config.doc["config"]["OnBuild"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        // Cleared before dispatching, as the classic builder does: the result does not
        // inherit its base's triggers (an ONBUILD among this stage's steps adds new ones).
        state.config.section().insert("OnBuild".into(), Value::Null);
        let plural = if triggers.len() > 1 { "s" } else { "" };
        self.say(&format!(
            "# Executing {} build trigger{plural}\n",
            triggers.len()
        ));
        for trigger in triggers {
            let wrap = |source: BuildError| BuildError::Trigger {
                line,
                trigger: trigger.clone(),
                source: Box::new(source),
            };
            let env = EnvList::from_pairs(state.config.env());
            let instruction = parse_trigger(&trigger)
                .and_then(|i| {
                    i.expand(&Lexer::new('\\'), &env).map_err(|kind| {
                        crate::instructions::InstructionError {
                            file: TRIGGER_FILE.to_string(),
                            line: 1,
                            kind: Box::new(kind),
                        }
                        .into()
                    })
                })
                .map_err(wrap)?;
            let step = LocatedInstruction {
                instruction,
                start_line: line,
                end_line: line,
                source: trigger.clone(),
            };
            let vertex = self.step_vertex(stage, &step, true);
            self.in_vertex(vertex, |b| {
                b.step_cached(state, &step, meta, build_args, visiting)
            })
            .map_err(wrap)?;
        }
        Ok(())
    }
}

/// What trigger parse errors name as their file.
const TRIGGER_FILE: &str = "ONBUILD trigger";

/// One trigger as an instruction, checked as the `ONBUILD` that recorded it was (no FROM,
/// MAINTAINER or ONBUILD as triggers; a single instruction).
fn parse_trigger(trigger: &str) -> Result<Instruction, BuildError> {
    let text = format!("ONBUILD {trigger}\n");
    let parsed = crate::parser::parse_named(TRIGGER_FILE, text.as_bytes())?;
    let [node] = parsed.children.as_slice() else {
        return Err(BuildError::TriggerShape {
            count: parsed.children.len(),
        });
    };
    match parse_instruction(node, TRIGGER_FILE)? {
        Instruction::Onbuild(onbuild) => Ok(*onbuild.trigger),
        _ => Err(BuildError::TriggerShape { count: 1 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_as_their_instruction_and_forbidden_ones_fail() {
        assert!(matches!(
            parse_trigger("RUN echo hi").unwrap(),
            Instruction::Run(_)
        ));
        assert!(matches!(
            parse_trigger("COPY <<EOF /x\nhello\nEOF").unwrap(),
            Instruction::Copy(c) if c.files.inline.len() == 1
        ));
        for bad in ["FROM busybox", "ONBUILD RUN true", "MAINTAINER me"] {
            let err = parse_trigger(bad).unwrap_err();
            assert!(matches!(err, BuildError::Instruction(_)), "{bad}: {err}");
        }
        assert!(matches!(
            parse_trigger(""),
            Err(BuildError::Instruction(_) | BuildError::TriggerShape { .. })
        ));
    }
}
