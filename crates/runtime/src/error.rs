//! The runtime's error type: each variant names the step that failed and the object it
//! touched, so a one-line message tells the user what went wrong.

use std::path::PathBuf;

/// How an exec failure should be reported: Docker exits 127 for a missing command and 126
/// for one that cannot be executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExecFailure {
    NotFound,
    PermissionDenied,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid runtime spec: {0}")]
    InvalidSpec(String),
    #[error(transparent)]
    Cgroup(#[from] mydocker_cgroups::CgroupError),
    #[error("{step}: {source}")]
    Sys {
        step: String,
        #[source]
        source: nix::Error,
    },
    #[error("{step} {path}: {source}")]
    Path {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sync with container process: {0}")]
    Channel(String),
    /// The container's init failed before it could exec the user's command; the message
    /// comes from the child itself.
    #[error("{0}")]
    Init(String),
    /// The user's command could not be executed.
    #[error("{message}")]
    Exec { kind: ExecFailure, message: String },
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

/// Wraps a failing syscall with the step it served, for `map_err`.
pub(crate) fn sys(step: impl Into<String>) -> impl FnOnce(nix::Error) -> RuntimeError {
    let step = step.into();
    move |source| RuntimeError::Sys { step, source }
}

/// Wraps a failing file operation with the step and the path, for `map_err`.
pub(crate) fn path_err(
    step: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let path = path.into();
    move |source| RuntimeError::Path { step, path, source }
}
