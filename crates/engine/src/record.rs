//! A container's record: the configuration it was made with and its state, in
//! `<root>/containers/<id>/container.json`. Written atomically; every read-modify-write
//! happens under the container's lock (`<dir>/lock`, flock), so the monitor and concurrent
//! commands never lose each other's updates.

use crate::error::{io_err, EngineError, Result};
use crate::fsutil::write_atomic_with;
use crate::options::RunOptions;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
        }
    }

    /// Whether a process of the container is (or may be) alive.
    pub fn is_active(&self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A process identity that survives pid reuse: the pid and its start time (in clock ticks
/// since boot, field 22 of /proc/<pid>/stat).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessId {
    pub fn of(pid: i32) -> Option<ProcessId> {
        start_time(pid).map(|start_time| ProcessId { pid, start_time })
    }

    /// True while this very process (not a later one with the same pid) is alive.
    pub fn is_alive(&self) -> bool {
        self.pid > 0 && start_time(self.pid) == Some(self.start_time)
    }
}

/// Field 22 of /proc/<pid>/stat; `None` when the process is gone (or a zombie).
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// Host pid of the container's init (0 when not running).
    pub pid: i32,
    #[serde(default)]
    pub init: ProcessId,
    #[serde(default)]
    pub monitor: ProcessId,
    pub exit_code: i32,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub error: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Set by `stop`/`kill`: the restart policy must not bring the container back.
    #[serde(default)]
    pub stopped_by_user: bool,
    #[serde(default)]
    pub restart_count: u32,
}

impl State {
    pub fn new() -> Self {
        State {
            status: Status::Created,
            pid: 0,
            init: ProcessId::default(),
            monitor: ProcessId::default(),
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: None,
            finished_at: None,
            stopped_by_user: false,
            restart_count: 0,
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
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
    /// The hostname given to the container.
    #[serde(default)]
    pub hostname: String,
    /// Lower dirs of the rootfs overlay (image layers, lowest first).
    #[serde(default)]
    pub layers: Vec<PathBuf>,
    pub config: RunOptions,
    pub state: State,
    /// Ports the image exposes (`80/tcp`), for `-P`.
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// The container's attachments to networks while it runs.
    #[serde(default)]
    pub endpoints: Vec<mydocker_network::EndpointInfo>,
}

impl ContainerRecord {
    pub fn save(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self)
            .map_err(|e| EngineError::InvalidArgument(format!("encode record: {e}")))?;
        write_atomic_with(path, &data, !self.config.remove)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(io_err("read", path))?;
        serde_json::from_slice(&data).map_err(|e| {
            EngineError::InvalidArgument(format!("corrupt record {}: {e}", path.display()))
        })
    }
}

/// Holds a container's lock; released on drop.
pub struct RecordLock {
    _lock: Flock<std::fs::File>,
}

/// Takes the exclusive lock of the container in `dir`.
pub fn lock(dir: &Path) -> Result<RecordLock> {
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open lock", &path))?;
    let lock = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| io_err("lock", &path)(std::io::Error::from(e)))?;
    Ok(RecordLock { _lock: lock })
}

/// Loads the record, lets `f` change it, and saves it, all under the lock.
pub fn update<T>(
    dir: &Path,
    f: impl FnOnce(&mut ContainerRecord) -> Result<T>,
) -> Result<(ContainerRecord, T)> {
    let _lock = lock(dir)?;
    let path = dir.join("container.json");
    let mut rec = ContainerRecord::load(&path)?;
    let out = f(&mut rec)?;
    rec.save(&path)?;
    Ok((rec, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        assert!(me.is_alive());
        let other = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!other.is_alive());
        assert!(!ProcessId::default().is_alive());
    }
}
