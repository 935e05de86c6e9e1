//! Dockerfile front end for `berth build`: the parser (BuildKit-compatible node tree), the shell
//! lexer used for variable expansion, typed instructions and `.dockerignore` matching.

pub mod dockerignore;
pub mod expand;
pub mod instructions;
pub mod parser;
