//! BuildKit's shell lexer: variable expansion (`$V`, `${V:-d}`, `${V#p}`, ...), quote removal and
//! word splitting, applied to Dockerfile instruction arguments. No command substitution: the
//! Dockerfile language only borrows the parts of sh that do not run anything.

mod error;
mod lexer;
mod pattern;
mod vars;
mod words;

pub use error::ExpandError;
pub use lexer::Lexer;
pub use vars::{CaseInsensitive, EnvList, VarLookup};
