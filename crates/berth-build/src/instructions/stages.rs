//! Stages: meta ARGs before the first FROM, then one stage per FROM with its instructions.
//! Resolving a stage applies meta args to its FROM and walks ARG/ENV to expand each step.

use std::collections::BTreeMap;

use super::Instruction;
use super::convert::parse_instruction;
use super::error::{InstructionError, InstructionErrorKind as K};
use super::expansion::expand_from;
use super::types::{ArgDef, From};
use crate::expand::{EnvList, Lexer, VarLookup};
use crate::parser::Dockerfile;

/// Args BuildKit defines for every build, usable in FROM without an `ARG` line.
pub const PLATFORM_ARGS: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// An instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedInstruction {
    pub instruction: Instruction,
    pub start_line: usize,
    pub end_line: usize,
    /// The source line (continuations joined).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub from: From,
    pub from_line: usize,
    pub instructions: Vec<LocatedInstruction>,
}

/// One `ARG` definition before the first FROM, with its line for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaArg {
    pub def: ArgDef,
    pub line: usize,
}

impl Stage {
    /// The lower-cased `AS` name, if any.
    pub fn name(&self) -> Option<&str> {
        self.from.stage_name.as_deref()
    }
}

/// A Dockerfile as stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFile {
    pub file: String,
    pub escape: char,
    /// ARGs before the first FROM: usable in FROM lines, and importable into stages.
    pub meta_args: Vec<MetaArg>,
    pub stages: Vec<Stage>,
}

/// Converts every node and groups them into stages.
pub fn parse_build_file(dockerfile: &Dockerfile) -> Result<BuildFile, InstructionError> {
    let file = dockerfile.file.clone();
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in &dockerfile.children {
        let instruction = parse_instruction(node, &file)?;
        let located = |instruction| LocatedInstruction {
            instruction,
            start_line: node.start_line,
            end_line: node.end_line,
            source: node.original.clone(),
        };
        match (instruction, stages.last_mut()) {
            (Instruction::From(from), _) => {
                let name = from.stage_name.as_deref();
                if let Some(name) = name.filter(|n| stages.iter().any(|s| s.name() == Some(n))) {
                    return Err(InstructionError {
                        file,
                        line: node.start_line,
                        kind: Box::new(K::DuplicateStageName {
                            name: name.to_string(),
                        }),
                    });
                }
                stages.push(Stage {
                    from,
                    from_line: node.start_line,
                    instructions: Vec::new(),
                });
            }
            (Instruction::Arg(defs), None) => {
                meta_args.extend(defs.into_iter().map(|def| MetaArg {
                    def,
                    line: node.start_line,
                }));
            }
            (other, Some(stage)) => stage.instructions.push(located(other)),
            (other, None) => {
                return Err(InstructionError {
                    file,
                    line: node.start_line,
                    kind: Box::new(K::NoStage {
                        instruction: other.keyword().to_string(),
                    }),
                });
            }
        }
    }
    Ok(BuildFile {
        file,
        escape: dockerfile.escape_token(),
        meta_args,
        stages,
    })
}

impl BuildFile {
    /// The stage a `--from=`/`FROM` reference names: a stage name (case-insensitive) or an
    /// index written as a number.
    pub fn stage_index(&self, reference: &str) -> Option<usize> {
        let lower = reference.to_lowercase();
        self.stages
            .iter()
            .position(|stage| stage.name() == Some(lower.as_str()))
            .or_else(|| {
                reference
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < self.stages.len())
            })
    }

    fn lexer(&self) -> Lexer {
        Lexer::new(self.escape)
    }

    fn error(&self, line: usize, kind: K) -> InstructionError {
        InstructionError {
            file: self.file.clone(),
            line,
            kind: Box::new(kind),
        }
    }

    /// Meta-arg values: each default expanded with the args before it, overridden by a build
    /// arg of the same name. The predefined platform args (`BUILDPLATFORM`, `TARGETOS`, ...) are
    /// visible without being declared, as in BuildKit; the caller supplies their values in
    /// `build_args`.
    pub fn meta_env(
        &self,
        build_args: &BTreeMap<String, String>,
    ) -> Result<EnvList, InstructionError> {
        let mut env = EnvList::new();
        for name in PLATFORM_ARGS {
            if let Some(value) = build_args.get(*name) {
                env.set(name, value);
            }
        }
        for MetaArg { def, line } in &self.meta_args {
            let value = match (build_args.get(&def.name), &def.default) {
                (Some(given), _) => Some(given.clone()),
                (None, Some(default)) => {
                    Some(self.lexer().process_word(default, &env).map_err(|source| {
                        self.error(
                            *line,
                            K::Expand {
                                instruction: "ARG".into(),
                                source,
                            },
                        )
                    })?)
                }
                (None, None) => None,
            };
            if let Some(value) = value {
                env.set(&def.name, &value);
            }
        }
        Ok(env)
    }

    /// Stage `index` with its FROM resolved through the meta args and every instruction
    /// expanded with the ARG/ENV values in effect at that point. Stage variables inherited from
    /// the base image are the build engine's concern and passed in `base_env`.
    pub fn resolve_stage(
        &self,
        index: usize,
        build_args: &BTreeMap<String, String>,
        base_env: &EnvList,
    ) -> Result<Stage, InstructionError> {
        let Some(stage) = self.stages.get(index) else {
            return Err(self.error(0, K::NoSuchStage { index }));
        };
        let meta = self.meta_env(build_args)?;
        let lexer = self.lexer();
        let from = expand_from(&stage.from, &lexer, &meta)
            .map_err(|kind| self.error(stage.from_line, kind))?;
        let mut env = base_env.clone();
        // ENV wins over ARG of the same name, whichever comes first.
        let mut from_env: Vec<String> = Vec::new();
        let mut resolved = Vec::new();
        for step in &stage.instructions {
            let expanded = step
                .instruction
                .expand(&lexer, &env)
                .map_err(|kind| self.error(step.start_line, kind))?;
            match &expanded {
                Instruction::Env(pairs) => {
                    for kv in pairs {
                        env.set(&kv.key, &kv.value);
                        from_env.push(kv.key.clone());
                    }
                }
                Instruction::Arg(defs) => {
                    for def in defs {
                        let value = build_args
                            .get(&def.name)
                            .cloned()
                            .or_else(|| def.default.clone())
                            .or_else(|| meta.lookup(&def.name).map(str::to_string));
                        if let Some(value) = value.filter(|_| !from_env.contains(&def.name)) {
                            env.set(&def.name, &value);
                        }
                    }
                }
                _ => {}
            }
            resolved.push(LocatedInstruction {
                instruction: expanded,
                ..step.clone()
            });
        }
        Ok(Stage {
            from,
            from_line: stage.from_line,
            instructions: resolved,
        })
    }
}
