//! What kind of failure an engine error is. Each module keeps its own `thiserror` enum with
//! the details; the kind is all the API layer needs to pick Docker's status code.

/// Docker's error classes (its `errdefs` package), which the API maps to status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is malformed or names something invalid.
    InvalidArgument,
    /// 404
    NotFound,
    /// 409: the object exists, is in use, or is in the wrong state.
    Conflict,
    /// 304: nothing to do (start of a running container, stop of a stopped one).
    NotModified,
    /// 401/403 from a registry.
    Unauthorized,
    /// 500
    System,
}

/// Implemented by every engine error enum.
pub trait HasKind {
    fn kind(&self) -> ErrorKind;
}
