//! One parsed instruction. BuildKit chains arguments as a linked list of nodes whose only nested
//! case is ONBUILD; here that list is a `Vec<Arg>` and the nested case an [`Arg::Nested`].

use super::heredoc::Heredoc;

/// One instruction line (after joining continuations) and what it carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// The instruction keyword as written (`RUN`, `run`, ...).
    pub value: String,
    /// The arguments after instruction-specific splitting.
    pub args: Vec<Arg>,
    /// True when the arguments came from a JSON array (exec form).
    pub json: bool,
    /// `--name=value` flags before the arguments, as written (quotes removed).
    pub flags: Vec<String>,
    /// Heredoc bodies introduced on this line, in order.
    pub heredocs: Vec<Heredoc>,
    /// The joined line the node was parsed from.
    pub original: String,
    /// 1-based first and last source line of the instruction (heredoc bodies included).
    pub start_line: usize,
    pub end_line: usize,
    /// Comment lines directly above the instruction.
    pub prev_comment: Vec<String>,
}

/// One argument: a word, or the nested instruction of `ONBUILD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Word(String),
    Nested(Box<Node>),
}

impl Node {
    /// The instruction keyword in lower case, the form BuildKit dispatches on.
    pub fn name(&self) -> String {
        self.value.to_lowercase()
    }

    /// The plain word arguments (nested nodes skipped).
    pub fn words(&self) -> Vec<&str> {
        self.args
            .iter()
            .filter_map(|arg| match arg {
                Arg::Word(word) => Some(word.as_str()),
                Arg::Nested(_) => None,
            })
            .collect()
    }

    /// The nested instruction of an `ONBUILD`, if any.
    pub fn nested(&self) -> Option<&Node> {
        self.args.iter().find_map(|arg| match arg {
            Arg::Nested(node) => Some(node.as_ref()),
            Arg::Word(_) => None,
        })
    }
}
