//! What the user asked `run` for, already parsed from flags (the CLI does the parsing; the
//! engine checks what needs the host or the image to check).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Resource limits, in Docker's terms (`docker run --memory`, `--cpus`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Bytes (`-m`).
    pub memory: Option<i64>,
    /// Memory plus swap in bytes (`--memory-swap`); -1 is unlimited.
    pub memory_swap: Option<i64>,
    /// Soft limit in bytes (`--memory-reservation`).
    pub memory_reservation: Option<i64>,
    /// Relative CPU weight (`-c`, `--cpu-shares`, the book's `-cpushare`).
    pub cpu_shares: Option<u64>,
    /// CPUs in billionths (`--cpus 0.5` is 500_000_000).
    pub nano_cpus: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    /// CPUs the container may run on (`--cpuset-cpus`, the book's `-cpuset`).
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Most processes at once (`--pids-limit`); 0 or -1 is unlimited.
    pub pids_limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Its own network namespace with only `lo` (until bridge networking lands, the default).
    #[default]
    None,
    /// The host's network namespace.
    Host,
}

impl std::str::FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" | "" | "default" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            other => Err(format!(
                "network {other} not found (supported for now: none, host)"
            )),
        }
    }
}

/// A `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunOptions {
    pub image: String,
    /// The command and its arguments after the image (replaces the image's CMD).
    pub command: Vec<String>,
    /// `--entrypoint`: `Some("")` clears the image's entrypoint.
    pub entrypoint: Option<String>,
    pub name: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub network: NetworkMode,
    pub interactive: bool,
    pub tty: bool,
    pub remove: bool,
    pub read_only: bool,
    pub resources: Resources,
    pub ulimits: Vec<Ulimit>,
    pub cidfile: Option<PathBuf>,
}
