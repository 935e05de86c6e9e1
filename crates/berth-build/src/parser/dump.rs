//! BuildKit's `Node.Dump` format: `(cmd ["--flag"] "arg" "arg")`, one instruction per line.

use super::node::{Arg, Node};
use super::parse::Dockerfile;
use super::quote::go_quote;

impl Node {
    /// This instruction in BuildKit's dump format, without surrounding parentheses.
    pub fn dump(&self) -> String {
        let mut out = self.value.to_lowercase();
        if !self.flags.is_empty() {
            let quoted: Vec<String> = self.flags.iter().map(|f| go_quote(f)).collect();
            out.push_str(&format!(" [{}]", quoted.join(" ")));
        }
        for arg in &self.args {
            out.push(' ');
            match arg {
                Arg::Word(word) => out.push_str(&go_quote(word)),
                Arg::Nested(node) => {
                    out.push('(');
                    out.push_str(&node.dump());
                    out.push(')');
                }
            }
        }
        out.trim().to_string()
    }
}

impl Dockerfile {
    /// The whole file in BuildKit's dump format: one `(instruction ...)` per line, no trailing
    /// newline (BuildKit's golden files are this plus `\n`).
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for node in &self.children {
            out.push('(');
            out.push_str(&node.dump());
            out.push_str(")\n");
        }
        out.trim().to_string()
    }
}
