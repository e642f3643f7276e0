//! A container's record: the configuration it was made with and its state, in
//! `<root>/containers/<id>/container.json`, always written atomically.

use crate::error::{io_err, EngineError, Result};
use crate::fsutil::write_atomic;
use crate::options::RunOptions;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub exit_code: i32,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// The image as the user named it, and its resolved id.
    pub image: String,
    pub image_id: String,
    pub created: String,
    /// The command line that runs (entrypoint and command).
    pub args: Vec<String>,
    pub config: RunOptions,
    pub state: State,
}

impl ContainerRecord {
    pub fn save(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self)
            .map_err(|e| EngineError::InvalidArgument(format!("encode record: {e}")))?;
        write_atomic(path, &data)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(io_err("read", path))?;
        serde_json::from_slice(&data).map_err(|e| {
            EngineError::InvalidArgument(format!("corrupt record {}: {e}", path.display()))
        })
    }
}
