//! Variable expansion where Docker applies it: FROM (meta args), ENV, LABEL, ARG, ADD/COPY
//! (sources, destination and flags), EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL and RUN `--mount`
//! values. RUN/CMD/ENTRYPOINT commands, SHELL, HEALTHCHECK and ONBUILD are left to the shell
//! or to the child build.

use super::Instruction;
use super::copy_add::{check_digest, check_excludes};
use super::error::InstructionErrorKind as K;
use super::mount::parse_mount;
use super::ports::parse_port_spec;
use super::signal::parse_signal;
use super::types::*;
use crate::expand::{Lexer, VarLookup};

impl Instruction {
    /// This instruction with `env` applied, quotes removed from expanded words.
    pub fn expand(&self, lexer: &Lexer, env: &dyn VarLookup) -> Result<Instruction, K> {
        let keyword = self.keyword();
        let word = |text: &str| -> Result<String, K> {
            lexer.process_word(text, env).map_err(|source| K::Expand {
                instruction: keyword.to_string(),
                source,
            })
        };
        let opt = |text: &Option<String>| text.as_deref().map(word).transpose();
        let list = |items: &[String]| items.iter().map(|i| word(i)).collect::<Result<Vec<_>, _>>();
        let pairs = |items: &[KeyValue]| {
            items
                .iter()
                .map(|kv| {
                    Ok(KeyValue {
                        key: word(&kv.key)?,
                        value: word(&kv.value)?,
                    })
                })
                .collect::<Result<Vec<_>, K>>()
        };
        let files = |f: &SourcesAndDest| -> Result<SourcesAndDest, K> {
            Ok(SourcesAndDest {
                sources: list(&f.sources)?,
                inline: f.inline.clone(),
                dest: word(&f.dest)?,
            })
        };
        Ok(match self {
            Instruction::From(from) => Instruction::From(expand_from(from, lexer, env)?),
            Instruction::Env(kvs) => Instruction::Env(pairs(kvs)?),
            Instruction::Label(kvs) => Instruction::Label(pairs(kvs)?),
            Instruction::Arg(defs) => Instruction::Arg(
                defs.iter()
                    .map(|d| {
                        Ok(ArgDef {
                            name: word(&d.name)?,
                            default: opt(&d.default)?,
                        })
                    })
                    .collect::<Result<Vec<_>, K>>()?,
            ),
            Instruction::Copy(c) => Instruction::Copy(Copy {
                files: files(&c.files)?,
                from: opt(&c.from)?,
                chown: opt(&c.chown)?,
                chmod: opt(&c.chmod)?,
                link: c.link,
                parents: c.parents,
                exclude: {
                    let exclude = list(&c.exclude)?;
                    check_excludes("COPY", &exclude)?;
                    exclude
                },
            }),
            Instruction::Add(a) => {
                let checksum = opt(&a.checksum)?;
                let exclude = list(&a.exclude)?;
                check_excludes("ADD", &exclude)?;
                if let Some(sum) = &checksum {
                    check_digest(sum)?;
                }
                Instruction::Add(Add {
                    files: files(&a.files)?,
                    chown: opt(&a.chown)?,
                    chmod: opt(&a.chmod)?,
                    checksum,
                    keep_git_dir: a.keep_git_dir,
                    link: a.link,
                    exclude,
                })
            }
            Instruction::Expose(ports) => {
                let mut expanded = Vec::new();
                for port in ports {
                    for piece in word(port)?.split_whitespace() {
                        parse_port_spec(piece)?;
                        expanded.push(piece.to_string());
                    }
                }
                Instruction::Expose(expanded)
            }
            Instruction::User(user) => Instruction::User(word(user)?),
            Instruction::Workdir(path) => Instruction::Workdir(word(path)?),
            Instruction::Volume(paths) => Instruction::Volume(list(paths)?),
            Instruction::StopSignal(signal) => {
                let signal = word(signal)?;
                parse_signal(&signal)?;
                Instruction::StopSignal(signal)
            }
            Instruction::Run(run) => {
                let mut expand_value = |value: &str| word(value).map_err(|e| e.to_string());
                let mounts = run
                    .mount_specs
                    .iter()
                    .map(|spec| parse_mount(spec, &mut expand_value))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|reason| K::InvalidMount {
                        instruction: "RUN",
                        reason,
                    })?;
                Instruction::Run(Run {
                    mounts,
                    ..run.clone()
                })
            }
            Instruction::Cmd(_)
            | Instruction::Entrypoint(_)
            | Instruction::Onbuild(_)
            | Instruction::Healthcheck(_)
            | Instruction::Shell(_)
            | Instruction::Maintainer(_) => self.clone(),
        })
    }
}

/// FROM with the meta args applied to the image and `--platform`.
pub(super) fn expand_from(from: &From, lexer: &Lexer, env: &dyn VarLookup) -> Result<From, K> {
    let word = |text: &str| {
        lexer.process_word(text, env).map_err(|source| K::Expand {
            instruction: "FROM".to_string(),
            source,
        })
    };
    Ok(From {
        image: word(&from.image)?,
        stage_name: from.stage_name.clone(),
        platform: from.platform.as_deref().map(word).transpose()?,
    })
}
