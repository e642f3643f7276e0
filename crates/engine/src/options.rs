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

/// `--network`: where the container's network namespace comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Its own network namespace with only `lo`.
    None,
    /// The host's network namespace.
    Host,
    /// Another container's network namespace (`container:NAME`).
    Container(String),
    /// Its own namespace, attached to a bridge network (`bridge` is the default one).
    Network(String),
}

impl Default for NetworkMode {
    fn default() -> Self {
        NetworkMode::Network(DEFAULT_NETWORK.into())
    }
}

/// Docker's name for the default network.
pub const DEFAULT_NETWORK: &str = "bridge";

impl std::str::FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            "" | "default" | "bridge" => NetworkMode::default(),
            other => match other.strip_prefix("container:") {
                Some("") => return Err("--network container: needs a container name".into()),
                Some(c) => NetworkMode::Container(c.to_string()),
                None => NetworkMode::Network(other.to_string()),
            },
        })
    }
}

impl std::fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::Container(c) => write!(f, "container:{c}"),
            NetworkMode::Network(n) => f.write_str(n),
        }
    }
}

/// How the container appears on its network (`-p`, `--ip`, `--dns`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkOptions {
    /// `-p` specs as typed (`8080:80`, `127.0.0.1:8443:443/tcp`, `5353:53/udp`).
    pub publish: Vec<String>,
    /// `-P`: publish every port the image exposes on a random host port.
    pub publish_all: bool,
    pub ip: Option<std::net::Ipv4Addr>,
    pub mac: Option<String>,
    pub aliases: Vec<String>,
    pub dns: Vec<std::net::IpAddr>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--add-host name:ip`.
    pub add_hosts: Vec<(String, std::net::IpAddr)>,
}

/// A `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// `--restart`: what the monitor does when the container exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most this many times (0 = no limit).
    OnFailure(u32),
}

impl std::str::FromStr for RestartPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid restart policy format: {s}");
        match s.split_once(':') {
            None => match s {
                "no" | "" => Ok(RestartPolicy::No),
                "always" => Ok(RestartPolicy::Always),
                "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
                "on-failure" => Ok(RestartPolicy::OnFailure(0)),
                _ => Err(bad()),
            },
            Some(("on-failure", n)) => n
                .parse()
                .map(RestartPolicy::OnFailure)
                .map_err(|_| format!("maximum retry count must be an integer: {n}")),
            Some((p, _)) => Err(format!(
                "maximum retry count cannot be used with restart policy '{p}'"
            )),
        }
    }
}

impl RestartPolicy {
    pub fn name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
            RestartPolicy::OnFailure(_) => "on-failure",
        }
    }

    /// Whether a container that exited with `code` after `restarts` restarts comes back.
    pub fn should_restart(&self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match *self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
        }
    }
}

/// `--log-opt max-size=...,max-file=...` for the json-file log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    /// Rotate when the log reaches this many bytes (None: never).
    pub max_size: Option<u64>,
    /// How many files to keep, the live one included (at least 1).
    pub max_file: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunOptions {
    /// Run in the background and print the id (`-d`).
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default)]
    pub log: LogOptions,
    /// `--stop-signal` (default: the image's STOPSIGNAL, else SIGTERM).
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds (default 10).
    #[serde(default)]
    pub stop_timeout: Option<i64>,
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
    #[serde(default)]
    pub net: NetworkOptions,
    /// `-v`, `--mount` and `--tmpfs`, parsed.
    #[serde(default)]
    pub mounts: Vec<crate::volumes::MountRequest>,
    pub interactive: bool,
    pub tty: bool,
    pub remove: bool,
    pub read_only: bool,
    pub resources: Resources,
    pub ulimits: Vec<Ulimit>,
    pub cidfile: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_and_decide_like_docker() {
        assert_eq!("on-failure:3".parse(), Ok(RestartPolicy::OnFailure(3)));
        assert_eq!("always".parse(), Ok(RestartPolicy::Always));
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        assert!("always:3".parse::<RestartPolicy>().is_err());
        let p = RestartPolicy::OnFailure(3);
        assert!(p.should_restart(1, 2, false));
        assert!(!p.should_restart(1, 3, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(!RestartPolicy::Always.should_restart(0, 0, true));
    }
}
