//! Dockerfile front end for `berth build`: the parser (BuildKit-compatible node tree), the shell
//! lexer used for variable expansion, typed instructions grouped into stages, and
//! `.dockerignore` matching. Pure library code: callers read the files.
//!
//! ```
//! use std::collections::BTreeMap;
//! use berth_build::{dockerignore::Matcher, expand::EnvList, instructions, parser};
//!
//! let source = b"ARG BASE=alpine\nFROM ${BASE}:3 AS build\nENV DIR=/src\nWORKDIR $DIR\nRUN make\n";
//! let file = parser::parse(source)?;
//! assert_eq!(file.dump().lines().next(), Some(r#"(arg "BASE=alpine")"#));
//!
//! let build = instructions::parse_build_file(&file)?;
//! let stage = build.resolve_stage(0, &BTreeMap::new(), &EnvList::new())?;
//! assert_eq!(stage.from.image, "alpine:3");
//! assert_eq!(stage.instructions[1].instruction, instructions::Instruction::Workdir("/src".into()));
//!
//! let ignore = Matcher::from_ignore_file("target\n*.log\n!keep.log\n")?;
//! assert!(ignore.can_skip_dir("target"));
//! assert!(!ignore.matches("keep.log", false));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod dockerignore;
pub mod engine;
pub mod expand;
pub mod instructions;
pub mod parser;
