//! The engine's error type, and the exit code each error means for `mydocker run`
//! (Docker's: 125 the engine failed, 126 the command cannot be executed, 127 not found).

use mydocker_runtime::{ExecFailure, RuntimeError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Image(#[from] mydocker_image::ImageError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Network(#[from] mydocker_network::NetworkError),
    #[error(transparent)]
    Cgroup(#[from] mydocker_runtime::cgroups::CgroupError),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("unable to find user {user}: {reason}")]
    User { user: String, reason: String },
    #[error("{step} {path}: {source}")]
    Io {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{step}: {source}")]
    Sys {
        step: String,
        #[source]
        source: nix::Error,
    },
    #[error("this command must be run as root")]
    NotRoot,
    /// A failure reported by another process (the monitor), with the exit code it means.
    #[error("{message}")]
    Failed { message: String, exit_code: i32 },
    #[error("{0}")]
    Conflict(String),
}

impl EngineError {
    /// The exit code Docker gives for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Runtime(RuntimeError::Exec { kind, .. }) => match kind {
                ExecFailure::NotFound => 127,
                ExecFailure::PermissionDenied | ExecFailure::Other => 126,
            },
            EngineError::Failed { exit_code, .. } => *exit_code,
            _ => 125,
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

pub(crate) fn io_err(
    step: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> EngineError {
    let path = path.into();
    move |source| EngineError::Io { step, path, source }
}

pub(crate) fn sys_err(step: impl Into<String>) -> impl FnOnce(nix::Error) -> EngineError {
    let step = step.into();
    move |source| EngineError::Sys { step, source }
}
