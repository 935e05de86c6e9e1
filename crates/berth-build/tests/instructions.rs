//! Typed instructions: forms, flags, validation errors (with file and line) and expansion.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_build::expand::{EnvList, Lexer};
use berth_build::instructions::*;
use berth_build::parser;

fn one(source: &str) -> Result<Instruction, InstructionError> {
    let file = parser::parse(source.as_bytes()).expect("parses");
    parse_instruction(&file.children[0], "Dockerfile")
}

fn err(source: &str) -> String {
    one(source).expect_err("must fail").to_string()
}

#[test]
fn from_forms_and_errors() {
    assert_eq!(
        one("FROM --platform=linux/arm64 alpine:3 AS Build").unwrap(),
        Instruction::From(From {
            image: "alpine:3".into(),
            stage_name: Some("build".into()),
            platform: Some("linux/arm64".into()),
        })
    );
    assert_eq!(
        err("FROM a b"),
        "Dockerfile:1: FROM requires either one or three arguments"
    );
    assert!(err("FROM a AS 1abc").contains("invalid name for build stage"));
    assert_eq!(
        err("FROM --platfrom=x a"),
        "Dockerfile:1: FROM: unknown flag: --platfrom (did you mean --platform?)"
    );
    assert_eq!(
        err("FORM a"),
        "Dockerfile:1: unknown instruction: FORM (did you mean FROM?)"
    );
}

#[test]
fn unknown_instruction_names_the_line() {
    let file = parser::parse(b"FROM a\n\nRUN x\nFOO bar\n").unwrap();
    let e = parse_build_file(&file).unwrap_err();
    assert_eq!(e.to_string(), "Dockerfile:4: unknown instruction: FOO");
    assert_eq!(e.line, 4);
}

#[test]
fn run_flags_and_forms() {
    let run = match one("RUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none --security=insecure make").unwrap() {
        Instruction::Run(run) => run,
        other => panic!("{other:?}"),
    };
    assert_eq!(run.command, CommandLine::Shell("make".into()));
    assert_eq!(run.mounts.len(), 2);
    assert!(
        matches!(&run.mounts[0], Mount::Cache { target, sharing: CacheSharing::Shared, .. } if target == "/c")
    );
    assert_eq!(run.network, Some(Network::None));
    assert_eq!(run.security, Some(Security::Insecure));
    assert!(
        matches!(one(r#"RUN ["a","b"]"#).unwrap(), Instruction::Run(Run { command: CommandLine::Exec(v), .. }) if v == ["a", "b"])
    );
    assert!(err("RUN --network=bridge x").contains("--network"));
    assert!(err("RUN --mount=type=bogus,target=/x x").contains("unsupported mount type"));
    assert!(err("RUN --mount=type=tmpfs x").contains("requires a target"));
    assert!(err("RUN --network=none --network=host x").contains("duplicate flag"));
}

#[test]
fn run_heredoc_files() {
    let source = "FROM a\nRUN <<-EOF bash\n\techo hi\n\tEOF\nRUN cat <<'X'\n$HOME\nX\n";
    let file = parser::parse(source.as_bytes()).unwrap();
    let build = parse_build_file(&file).unwrap();
    let steps = &build.stages[0].instructions;
    let Instruction::Run(first) = &steps[0].instruction else {
        panic!()
    };
    assert_eq!(first.files[0].content, "echo hi\n");
    assert!(first.files[0].expand);
    assert_eq!((steps[0].start_line, steps[0].end_line), (2, 4));
    let Instruction::Run(second) = &steps[1].instruction else {
        panic!()
    };
    assert_eq!(second.files[0].content, "$HOME\n");
    assert!(!second.files[0].expand);
}

#[test]
fn copy_and_add_flags() {
    let copy = match one("COPY --from=build --chown=1:2 --chmod=644 --link --parents --exclude=*.md --exclude=x a b /dst/").unwrap() {
        Instruction::Copy(copy) => copy,
        other => panic!("{other:?}"),
    };
    assert_eq!(copy.files.sources, vec!["a", "b"]);
    assert_eq!(copy.files.dest, "/dst/");
    assert_eq!(copy.from.as_deref(), Some("build"));
    assert!(copy.link && copy.parents);
    assert_eq!(copy.exclude, vec!["*.md", "x"]);
    let json = one(r#"COPY ["a b", "/c d/"]"#).unwrap();
    assert!(
        matches!(json, Instruction::Copy(c) if c.files.sources == ["a b"] && c.files.dest == "/c d/")
    );
    let add = one("ADD --keep-git-dir=true --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://x/y.tgz /y").unwrap();
    assert!(matches!(add, Instruction::Add(a) if a.keep_git_dir && a.checksum.is_some()));
    assert!(err("ADD --checksum=md5:00 a b").contains("--checksum"));
    assert!(err("COPY --keep-git-dir a b").contains("unknown flag: --keep-git-dir"));
    assert!(err("COPY onlyone").contains("requires at least two arguments"));
    assert!(err("COPY a <<EOF\nx\nEOF").contains("heredoc cannot be used as a destination"));
}

#[test]
fn copy_heredoc_sources() {
    let file = parser::parse(b"COPY <<A <<B /dst/\none\nA\ntwo\nB\n").unwrap();
    let copy = match parse_instruction(&file.children[0], "Dockerfile").unwrap() {
        Instruction::Copy(copy) => copy,
        other => panic!("{other:?}"),
    };
    let names: Vec<_> = copy
        .files
        .inline
        .iter()
        .map(|f| (f.name.as_str(), f.content.as_str()))
        .collect();
    assert_eq!(names, vec![("A", "one\n"), ("B", "two\n")]);
    assert!(copy.files.sources.is_empty());
}

#[test]
fn key_value_instructions() {
    let env = one("ENV a=1 b=\"x y\"").unwrap();
    assert!(matches!(&env, Instruction::Env(kv) if kv.len() == 2 && kv[1].value == "\"x y\""));
    assert!(
        matches!(one("ENV legacy value with spaces").unwrap(), Instruction::Env(kv) if kv[0].value == "value with spaces")
    );
    assert!(matches!(one("LABEL a=b c=d").unwrap(), Instruction::Label(kv) if kv.len() == 2));
    assert!(err("ENV =x").contains("names can not be blank"));
    let arg = one("ARG a b=2").unwrap();
    assert_eq!(
        arg,
        Instruction::Arg(vec![
            ArgDef {
                name: "a".into(),
                default: None
            },
            ArgDef {
                name: "b".into(),
                default: Some("2".into())
            },
        ])
    );
    assert!(err("ARG").contains("ARG requires at least one argument"));
}

#[test]
fn single_argument_instructions() {
    assert_eq!(
        one("USER app:app").unwrap(),
        Instruction::User("app:app".into())
    );
    assert_eq!(
        one("WORKDIR /src").unwrap(),
        Instruction::Workdir("/src".into())
    );
    assert_eq!(
        one("STOPSIGNAL SIGTERM").unwrap(),
        Instruction::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        one("MAINTAINER me").unwrap(),
        Instruction::Maintainer("me".into())
    );
    assert!(err("WORKDIR").contains("WORKDIR requires exactly one argument"));
    assert_eq!(
        one("VOLUME /a /b").unwrap(),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        one(r#"VOLUME ["/a"]"#).unwrap(),
        Instruction::Volume(vec!["/a".into()])
    );
    assert!(err(r#"VOLUME [""]"#).contains("empty string"));
    assert_eq!(
        one("EXPOSE 80 53/udp").unwrap(),
        Instruction::Expose(vec!["80".into(), "53/udp".into()])
    );
    assert_eq!(
        one(r#"SHELL ["bash", "-c"]"#).unwrap(),
        Instruction::Shell(vec!["bash".into(), "-c".into()])
    );
    assert!(err("SHELL bash -c").contains("JSON form"));
    assert_eq!(
        one("CMD echo hi").unwrap(),
        Instruction::Cmd(CommandLine::Shell("echo hi".into()))
    );
    assert_eq!(
        one(r#"ENTRYPOINT ["/bin/app"]"#).unwrap(),
        Instruction::Entrypoint(CommandLine::Exec(vec!["/bin/app".into()]))
    );
}

#[test]
fn onbuild_nesting_rules() {
    let onbuild = match one("ONBUILD RUN echo hi").unwrap() {
        Instruction::Onbuild(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(onbuild.expression, "RUN echo hi");
    assert!(matches!(*onbuild.trigger, Instruction::Run(_)));
    assert!(err("ONBUILD ONBUILD RUN x").contains("Chaining ONBUILD"));
    assert!(err("ONBUILD FROM x").contains("FROM isn't allowed as an ONBUILD trigger"));
    assert!(err("ONBUILD maintainer x").contains("MAINTAINER isn't allowed"));
    assert!(err("ONBUILD COPY --bogus=1 a b").contains("unknown flag: --bogus"));
}

#[test]
fn healthcheck_forms() {
    assert_eq!(
        one("HEALTHCHECK NONE").unwrap(),
        Instruction::Healthcheck(Healthcheck::None)
    );
    let check = one("HEALTHCHECK --interval=5s --timeout=1m30s --start-period=0s --start-interval=500ms --retries=3 CMD curl -f http://localhost/").unwrap();
    assert_eq!(
        check,
        Instruction::Healthcheck(Healthcheck::Check {
            test: CommandLine::Shell("curl -f http://localhost/".into()),
            interval: Some(Duration::from_secs(5)),
            timeout: Some(Duration::from_secs(90)),
            start_period: Some(Duration::ZERO),
            start_interval: Some(Duration::from_millis(500)),
            retries: Some(3),
        })
    );
    assert!(err("HEALTHCHECK --interval=5 CMD x").contains("invalid duration \"5\""));
    assert!(err("HEALTHCHECK --interval=10us CMD x").contains("cannot be less than 1ms"));
    assert!(err("HEALTHCHECK --retries=-1 CMD x").contains("--retries"));
    assert!(err("HEALTHCHECK NONE x").contains("takes no arguments"));
    assert!(err("HEALTHCHECK CMD").contains("Missing command"));
    assert!(err("HEALTHCHECK CONNECT TCP 7000").contains("Unknown type"));
}

#[test]
fn stages_meta_args_and_expansion() {
    let source = r#"ARG BASE=alpine
ARG TAG=3.${MINOR:-19}
FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS build
ARG TAG
ENV DIR=/src/$TAG NAME="my app"
WORKDIR $DIR
COPY --chown=${UID:-0} a\ b ${DIR}/
RUN echo $DIR
LABEL "name"="$NAME"
EXPOSE ${PORT:-80}/tcp
FROM build
USER ${APPUSER:-nobody}
"#;
    let file = parser::parse(source.as_bytes()).unwrap();
    let build = parse_build_file(&file).unwrap();
    assert_eq!(build.meta_args.len(), 2);
    assert_eq!(
        (
            build.meta_args[1].def.name.as_str(),
            build.meta_args[1].line
        ),
        ("TAG", 2)
    );
    assert_eq!(build.stages.len(), 2);
    let mut args = BTreeMap::new();
    args.insert("BUILDPLATFORM".to_string(), "linux/amd64".to_string());
    let stage = build.resolve_stage(0, &args, &EnvList::new()).unwrap();
    assert_eq!(stage.from.image, "alpine:3.19");
    assert_eq!(stage.from.platform.as_deref(), Some("linux/amd64"));
    let steps: Vec<&Instruction> = stage.instructions.iter().map(|s| &s.instruction).collect();
    assert_eq!(steps[2], &Instruction::Workdir("/src/3.19".into()));
    let Instruction::Copy(copy) = steps[3] else {
        panic!()
    };
    // Shell-form COPY splits on whitespace before expansion (BuildKit does too).
    assert_eq!(copy.files.sources, vec!["a", "b"]);
    assert_eq!(copy.files.dest, "/src/3.19/");
    let Instruction::Copy(raw) = &build.stages[0].instructions[3].instruction else {
        panic!()
    };
    assert_eq!(raw.files.sources, vec!["a\\", "b"]);
    assert_eq!(copy.chown.as_deref(), Some("0"));
    assert_eq!(
        steps[4],
        &Instruction::Run(match &build.stages[0].instructions[4].instruction {
            Instruction::Run(r) => r.clone(),
            _ => panic!(),
        })
    );
    assert!(
        matches!(steps[4], Instruction::Run(r) if r.command == CommandLine::Shell("echo $DIR".into()))
    );
    assert!(
        matches!(steps[5], Instruction::Label(kv) if kv[0].key == "name" && kv[0].value == "my app")
    );
    assert_eq!(steps[6], &Instruction::Expose(vec!["80/tcp".into()]));

    args.insert("TAG".to_string(), "edge".to_string());
    let stage = build.resolve_stage(0, &args, &EnvList::new()).unwrap();
    assert_eq!(stage.from.image, "alpine:edge");
    let stage = build.resolve_stage(1, &args, &EnvList::new()).unwrap();
    assert_eq!(
        stage.instructions[0].instruction,
        Instruction::User("nobody".into())
    );
}

#[test]
fn expansion_errors_name_the_line() {
    let file =
        parser::parse(b"FROM a\nENV X=1\nWORKDIR ${X:?must be set}\nUSER ${NOPE:?is required}\n")
            .unwrap();
    let build = parse_build_file(&file).unwrap();
    let e = build
        .resolve_stage(0, &BTreeMap::new(), &EnvList::new())
        .unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.to_string().contains("NOPE: is required"), "{e}");
    let file = parser::parse(b"FROM a\nSTOPSIGNAL ${S:-SIGKILL}\nSTOPSIGNAL SIGNOPE\n").unwrap();
    let e = parse_build_file(&file)
        .unwrap()
        .resolve_stage(0, &BTreeMap::new(), &EnvList::new())
        .unwrap_err();
    assert_eq!(e.to_string(), "Dockerfile:3: invalid signal: \"SIGNOPE\"");
    let file = parser::parse(b"FROM a\nEXPOSE ${P:-http}\n").unwrap();
    let e = parse_build_file(&file)
        .unwrap()
        .resolve_stage(0, &BTreeMap::new(), &EnvList::new())
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Dockerfile:2: invalid port specification"),
        "{e}"
    );
}

#[test]
fn meta_arg_errors_name_their_line() {
    let file = parser::parse(b"ARG A=1\nARG B=${NOPE:?needed}\nFROM x\n").unwrap();
    let build = parse_build_file(&file).unwrap();
    let e = build
        .resolve_stage(0, &BTreeMap::new(), &EnvList::new())
        .unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("NOPE: needed"), "{e}");
    let given = BTreeMap::from([("B".to_string(), "ok".to_string())]);
    assert!(build.resolve_stage(0, &given, &EnvList::new()).is_ok());
    assert!(build.resolve_stage(5, &given, &EnvList::new()).is_err());
}

#[test]
fn stage_names_are_unique_and_resolvable() {
    let file = parser::parse(b"FROM a AS one\nFROM b AS Two\nFROM c\n").unwrap();
    let build = parse_build_file(&file).unwrap();
    assert_eq!(build.stage_index("two"), Some(1));
    assert_eq!(build.stage_index("ONE"), Some(0));
    assert_eq!(build.stage_index("2"), Some(2));
    assert_eq!(build.stage_index("3"), None);
    assert_eq!(build.stage_index("alpine"), None);
    let file = parser::parse(b"FROM a AS x\nRUN y\nFROM b AS X\n").unwrap();
    let e = parse_build_file(&file).unwrap_err();
    assert_eq!(e.to_string(), "Dockerfile:3: duplicate stage name \"x\"");
}

#[test]
fn instruction_before_from_is_an_error() {
    let file = parser::parse(b"ARG X\nRUN x\nFROM a\n").unwrap();
    let e = parse_build_file(&file).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("must come after a FROM"));
}

#[test]
fn escape_directive_reaches_expansion() {
    let file = parser::parse(b"# escape=`\nFROM a\nENV P=\"C:\\dir `$HOME\" `\n  Q=x\n").unwrap();
    let build = parse_build_file(&file).unwrap();
    assert_eq!(build.escape, '`');
    let stage = build
        .resolve_stage(0, &BTreeMap::new(), &EnvList::new())
        .unwrap();
    assert_eq!(
        stage.instructions[0].instruction,
        Instruction::Env(vec![
            KeyValue {
                key: "P".into(),
                value: "C:\\dir $HOME".into()
            },
            KeyValue {
                key: "Q".into(),
                value: "x".into()
            },
        ])
    );
    let _ = Lexer::new('`');
}
