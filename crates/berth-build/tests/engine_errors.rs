//! Errors name the Dockerfile (as the client gave it) and the line: parse errors, instruction
//! errors and errors of a step that runs.

mod engine_support;

use std::path::PathBuf;

use berth_build::engine::{BuildError, build};
use engine_support::Env;

fn build_err(env: &Env, name: &str, text: &str) -> BuildError {
    let path = env.context().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    let mut opts = env.options("FROM scratch\n");
    opts.dockerfile = PathBuf::from(name);
    build(&env.store, &opts).unwrap_err()
}

#[test]
fn an_unknown_instruction_names_the_file_and_line() {
    let env = Env::new();
    let err = build_err(
        &env,
        "docker/Dockerfile.dev",
        "FROM fixtures/busybox:1.35\n\n# comment\nFORM x\n",
    );
    assert_eq!(
        err.to_string(),
        "docker/Dockerfile.dev:4: unknown instruction: FORM (did you mean FROM?)"
    );
    env.assert_clean();
}

#[test]
fn a_failing_step_names_the_file_and_line() {
    let env = Env::new();
    let err = build_err(
        &env,
        "Dockerfile.ci",
        "FROM fixtures/busybox:1.35\nRUN true\nCOPY missing.txt /x\n",
    );
    assert_eq!(err.line(), Some(3));
    assert!(matches!(
        err.cause(),
        BuildError::SourceMissing { line: 3, .. }
    ));
    assert!(
        err.to_string()
            .starts_with("Dockerfile.ci:3: COPY: source \"missing.txt\" not found"),
        "{err}"
    );

    let err = build_err(
        &env,
        "Dockerfile.ci",
        "FROM fixtures/busybox:1.35\nRUN exit 5\n",
    );
    assert!(
        err.to_string()
            .starts_with("Dockerfile.ci:2: RUN exit 5: exit code 5"),
        "{err}"
    );

    let err = build_err(&env, "Dockerfile.ci", "FROM no-such/image:1\n");
    assert!(
        err.to_string()
            .starts_with("Dockerfile.ci:1: base image \"no-such/image:1\""),
        "{err}"
    );
    env.assert_clean();
}
