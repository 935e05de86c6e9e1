//! Container I/O and inspection: logs, exec, top, stats, export, changes, archive (`cp`).

pub mod archive;
pub mod changes;
pub mod exec;
pub mod logs;
pub mod rootpath;
pub mod stats;
pub mod tarwalk;
pub mod top;
