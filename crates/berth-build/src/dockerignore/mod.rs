//! `.dockerignore`: Docker's pattern file format and matcher (moby `patternmatcher` semantics:
//! `filepath.Match`-style globs plus `**`, `!` exceptions, parent-directory matching), with the
//! "can this whole directory be skipped?" check that exceptions complicate.

mod clean;
mod file;
mod matcher;
mod pattern;

pub use clean::clean_path;
pub use file::{ignore_file_candidates, parse_ignore_file, pick_ignore_file};
pub use matcher::Matcher;
pub use pattern::{Pattern, PatternError};
