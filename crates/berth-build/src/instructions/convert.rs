//! Node → [`Instruction`]: argument counts, flags and forms checked per instruction, following
//! BuildKit's `instructions.ParseInstruction`.

use super::Instruction;
use super::copy_add::{add, copy};
use super::error::{InstructionError, InstructionErrorKind as K};
use super::flags::{FlagKind, Flags};
use super::healthcheck::healthcheck;
use super::mount::parse_mount;
use super::suggest::closest;
use super::types::*;
use crate::parser::{Heredoc, Node, chomp_heredoc_content};

/// Every instruction keyword, for suggestions.
const INSTRUCTION_NAMES: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Converts one parsed node; `file` names the Dockerfile in errors.
pub fn parse_instruction(node: &Node, file: &str) -> Result<Instruction, InstructionError> {
    convert(node).map_err(|kind| InstructionError {
        file: file.to_string(),
        line: node.start_line,
        kind: Box::new(kind),
    })
}

fn convert(node: &Node) -> Result<Instruction, K> {
    let args: Vec<String> = node.words().into_iter().map(str::to_string).collect();
    let no_flags = |name| Flags::parse(name, &node.flags, &[]);
    Ok(match node.name().as_str() {
        "from" => Instruction::From(from(node, &args)?),
        "run" => Instruction::Run(run(node, &args)?),
        "cmd" => {
            no_flags("CMD")?;
            Instruction::Cmd(command_line(node, &args))
        }
        "entrypoint" => {
            no_flags("ENTRYPOINT")?;
            Instruction::Entrypoint(command_line(node, &args))
        }
        "label" => {
            no_flags("LABEL")?;
            Instruction::Label(key_values("LABEL", &args)?)
        }
        "env" => {
            no_flags("ENV")?;
            Instruction::Env(key_values("ENV", &args)?)
        }
        "expose" => {
            no_flags("EXPOSE")?;
            at_least_one("EXPOSE", &args)?;
            Instruction::Expose(args)
        }
        "add" => Instruction::Add(add(node, &args)?),
        "copy" => Instruction::Copy(copy(node, &args)?),
        "volume" => {
            no_flags("VOLUME")?;
            at_least_one("VOLUME", &args)?;
            let paths: Vec<String> = args.iter().map(|a| a.trim().to_string()).collect();
            if paths.iter().any(String::is_empty) {
                return Err(K::EmptyVolume);
            }
            Instruction::Volume(paths)
        }
        "user" => {
            no_flags("USER")?;
            Instruction::User(exactly_one("USER", args)?)
        }
        "workdir" => {
            no_flags("WORKDIR")?;
            Instruction::Workdir(exactly_one("WORKDIR", args)?)
        }
        "arg" => {
            no_flags("ARG")?;
            Instruction::Arg(arg_defs(&args)?)
        }
        "onbuild" => Instruction::Onbuild(onbuild(node)?),
        "stopsignal" => {
            no_flags("STOPSIGNAL")?;
            Instruction::StopSignal(exactly_one("STOPSIGNAL", args)?)
        }
        "healthcheck" => Instruction::Healthcheck(healthcheck(node, &args)?),
        "shell" => {
            no_flags("SHELL")?;
            at_least_one("SHELL", &args)?;
            if !node.json {
                return Err(K::ShellNotJson);
            }
            Instruction::Shell(args)
        }
        "maintainer" => {
            no_flags("MAINTAINER")?;
            Instruction::Maintainer(exactly_one("MAINTAINER", args)?)
        }
        _ => {
            return Err(K::UnknownInstruction {
                instruction: node.value.clone(),
                suggestion: closest(&node.value, INSTRUCTION_NAMES).map(str::to_string),
            });
        }
    })
}

pub(super) fn at_least_one(instruction: &'static str, args: &[String]) -> Result<(), K> {
    if args.is_empty() {
        return Err(K::AtLeastOneArgument { instruction });
    }
    Ok(())
}

fn exactly_one(instruction: &'static str, args: Vec<String>) -> Result<String, K> {
    match <[String; 1]>::try_from(args) {
        Ok([only]) => Ok(only),
        Err(_) => Err(K::ExactlyOneArgument { instruction }),
    }
}

fn from(node: &Node, args: &[String]) -> Result<From, K> {
    let flags = Flags::parse("FROM", &node.flags, &[("platform", FlagKind::String)])?;
    let stage_name = match args {
        [_] => None,
        [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !is_valid_stage_name(&lower) {
                return Err(K::InvalidStageName { name: name.clone() });
            }
            Some(lower)
        }
        _ => return Err(K::FromArguments),
    };
    Ok(From {
        image: args[0].clone(),
        stage_name,
        platform: flags.string("platform"),
    })
}

/// `^[a-z][a-z0-9-_\.]*$`
fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

pub(super) fn command_line(node: &Node, args: &[String]) -> CommandLine {
    if node.json || args.is_empty() {
        CommandLine::Exec(args.to_vec())
    } else {
        CommandLine::Shell(args.join(" "))
    }
}

pub(super) fn inline_files(heredocs: &[Heredoc]) -> Vec<InlineFile> {
    heredocs
        .iter()
        .map(|doc| InlineFile {
            name: doc.name.clone(),
            content: if doc.chomp {
                chomp_heredoc_content(&doc.content)
            } else {
                doc.content.clone()
            },
            expand: doc.expand,
        })
        .collect()
}

fn run(node: &Node, args: &[String]) -> Result<Run, K> {
    let flags = Flags::parse(
        "RUN",
        &node.flags,
        &[
            ("mount", FlagKind::Repeated),
            ("network", FlagKind::String),
            ("security", FlagKind::String),
        ],
    )?;
    let invalid = |flag: &str, value: &str, reason: &str| K::InvalidFlagValue {
        instruction: "RUN",
        flag: flag.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let network = match flags.string("network").as_deref() {
        None => None,
        Some("default") => Some(Network::Default),
        Some("none") => Some(Network::None),
        Some("host") => Some(Network::Host),
        Some(other) => return Err(invalid("network", other, "want default, none or host")),
    };
    let security = match flags.string("security").as_deref() {
        None => None,
        Some("sandbox") => Some(Security::Sandbox),
        Some("insecure") => Some(Security::Insecure),
        Some(other) => return Err(invalid("security", other, "want sandbox or insecure")),
    };
    let mount_specs = flags.all("mount");
    let mounts = mount_specs
        .iter()
        .map(|spec| parse_mount(spec, &mut |v| Ok(v.to_string())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| K::InvalidMount {
            instruction: "RUN",
            reason,
        })?;
    Ok(Run {
        command: command_line(node, args),
        files: inline_files(&node.heredocs),
        mounts,
        mount_specs,
        network,
        security,
    })
}

fn key_values(instruction: &'static str, args: &[String]) -> Result<Vec<KeyValue>, K> {
    at_least_one(instruction, args)?;
    args.chunks(3)
        .map(|triple| match triple {
            [key, value, _] if !key.is_empty() => Ok(KeyValue {
                key: key.clone(),
                value: value.clone(),
            }),
            _ => Err(K::BlankName { instruction }),
        })
        .collect()
}

fn arg_defs(args: &[String]) -> Result<Vec<ArgDef>, K> {
    at_least_one("ARG", args)?;
    args.iter()
        .map(|arg| {
            let (name, default) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            if name.is_empty() {
                return Err(K::BlankName { instruction: "ARG" });
            }
            Ok(ArgDef {
                name: name.to_string(),
                default,
            })
        })
        .collect()
}

fn onbuild(node: &Node) -> Result<Onbuild, K> {
    Flags::parse("ONBUILD", &node.flags, &[])?;
    let Some(nested) = node.nested() else {
        return Err(K::AtLeastOneArgument {
            instruction: "ONBUILD",
        });
    };
    let trigger_name = nested.value.trim().to_uppercase();
    match trigger_name.as_str() {
        "ONBUILD" => return Err(K::OnbuildChain),
        "MAINTAINER" | "FROM" => {
            return Err(K::OnbuildForbidden {
                trigger: trigger_name,
            });
        }
        _ => {}
    }
    let mut trigger_node = nested.clone();
    trigger_node.heredocs = node.heredocs.clone();
    trigger_node.start_line = node.start_line;
    let trigger = convert(&trigger_node)?;
    let mut expression = strip_onbuild_keyword(&node.original).to_string();
    for doc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    Ok(Onbuild {
        expression,
        trigger: Box::new(trigger),
    })
}

/// Removes `(?i)^\s*ONBUILD\s*` from the original line.
fn strip_onbuild_keyword(original: &str) -> &str {
    let trimmed = original.trim_start();
    match trimmed.get(..7) {
        Some(word) if word.eq_ignore_ascii_case("onbuild") => trimmed[7..].trim_start(),
        _ => original,
    }
}
