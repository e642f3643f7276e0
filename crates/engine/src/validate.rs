//! Checks of run options against the host, made before anything is created, with Docker's
//! messages.

use crate::error::{EngineError, Result};
use crate::options::Resources;
use std::path::Path;

const MIN_MEMORY: i64 = 6 * 1024 * 1024;

pub fn resources(r: &Resources) -> Result<()> {
    let invalid = |m: String| Err(EngineError::InvalidArgument(m));
    if let Some(mem) = r.memory {
        if mem != 0 && mem < MIN_MEMORY {
            return invalid("Minimum memory limit allowed is 6MB".into());
        }
    }
    if let (Some(swap), Some(mem)) = (r.memory_swap, r.memory) {
        if swap != -1 && swap > 0 && swap < mem {
            return invalid(
                "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
            );
        }
    }
    if let Some(nano) = r.nano_cpus {
        let ncpu = online_cpus();
        if nano < 10_000_000 || nano > ncpu as i64 * 1_000_000_000 {
            return invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            ));
        }
        if r.cpu_quota.is_some() || r.cpu_period.is_some() {
            return invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set".into(),
            );
        }
    }
    if let Some(cpus) = &r.cpuset_cpus {
        check_subset("CPUs", cpus, "/sys/devices/system/cpu/online")?;
    }
    if let Some(mems) = &r.cpuset_mems {
        check_subset("memory nodes", mems, "/sys/devices/system/node/online")?;
    }
    Ok(())
}

fn check_subset(what: &str, requested: &str, online_file: &str) -> Result<()> {
    let available = std::fs::read_to_string(online_file)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "0".into());
    let bad = || {
        EngineError::InvalidArgument(format!(
            "Requested {what} are not available - requested {requested}, available: {available}"
        ))
    };
    let wanted = parse_list(requested).ok_or_else(|| {
        EngineError::InvalidArgument(format!("Invalid value {requested} for cpuset {what}"))
    })?;
    let have = parse_list(&available).ok_or_else(bad)?;
    if wanted.iter().all(|c| have.contains(c)) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Parses a kernel cpu list such as `0-3,5`.
pub fn parse_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().ok()?),
        }
    }
    Some(out)
}

fn online_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Whether the host can limit memory+swap (Docker then gives `--memory-swap` = 2x memory).
pub fn host_has_swap_limit() -> bool {
    if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        return true;
    }
    let v2_memory = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .map(|c| c.split_whitespace().any(|w| w == "memory"))
        .unwrap_or(false);
    let has_swap = std::fs::read_to_string("/proc/swaps")
        .map(|s| s.lines().count() > 1)
        .unwrap_or(false);
    v2_memory && has_swap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_limits_get_docker_messages() {
        let r = |f: fn(&mut Resources)| {
            let mut r = Resources::default();
            f(&mut r);
            resources(&r).err().map(|e| e.to_string())
        };
        assert!(r(|r| r.nano_cpus = Some(-1_000_000_000))
            .unwrap()
            .starts_with("Range of CPUs"));
        assert!(r(|r| r.cpuset_cpus = Some("99".into()))
            .unwrap()
            .starts_with("Requested CPUs are not available - requested 99"));
        assert!(r(|r| r.memory = Some(1024)).unwrap().contains("6MB"));
        assert!(r(|r| r.cpuset_cpus = Some("0".into())).is_none());
        assert_eq!(parse_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_list("x"), None);
    }
}
