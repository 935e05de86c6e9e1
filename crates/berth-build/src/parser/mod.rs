//! The Dockerfile parser: bytes → a tree of instruction nodes, equivalent to BuildKit's
//! `parser.Parse` (same line handling, continuation rules, JSON/shell forms and heredocs), with a
//! printer for BuildKit's bracketed dump format.

mod directives;
mod dump;
mod error;
mod heredoc;
mod line_parsers;
mod node;
mod parse;
mod quote;
mod split_command;

pub use directives::Directives;
pub use error::{ParseError, ParseErrorKind};
pub use heredoc::{Heredoc, chomp_heredoc_content, parse_heredoc_word};
pub use node::{Arg, Node};
pub use parse::{Dockerfile, parse, parse_named};
pub use quote::go_quote;
