//! What a cgroup has used: the numbers behind `mydocker stats`.

use crate::cgroupfs::read_optional;
use crate::Result;
use std::path::Path;

/// A snapshot of a cgroup's usage. Missing files (controller absent) read as zero/None.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// CPU time used by all tasks, in nanoseconds.
    pub cpu_usage_ns: u64,
    /// Memory in use, in bytes (page cache included, as the kernel counts it).
    pub memory_usage: u64,
    /// The memory limit in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    pub pids_current: u64,
    pub pids_limit: Option<u64>,
}

fn number(text: Option<String>) -> Option<u64> {
    text.and_then(|t| t.trim().parse().ok())
}

/// Reads the v1 files from each controller's directory.
pub(crate) fn v1(
    cpuacct: Option<&Path>,
    memory: Option<&Path>,
    pids: Option<&Path>,
) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(d) = cpuacct {
        s.cpu_usage_ns = number(read_optional(d, "cpuacct.usage")?).unwrap_or(0);
    }
    if let Some(d) = memory {
        s.memory_usage = number(read_optional(d, "memory.usage_in_bytes")?).unwrap_or(0);
        // v1 reports "unlimited" as a huge page-aligned number.
        s.memory_limit =
            number(read_optional(d, "memory.limit_in_bytes")?).filter(|l| *l < (1u64 << 62));
    }
    if let Some(d) = pids {
        s.pids_current = number(read_optional(d, "pids.current")?).unwrap_or(0);
        s.pids_limit = number(read_optional(d, "pids.max")?);
    }
    Ok(s)
}

/// Reads the v2 files of one cgroup directory.
pub(crate) fn v2(dir: &Path) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(cpu) = read_optional(dir, "cpu.stat")? {
        s.cpu_usage_ns = cpu
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1000;
    }
    s.memory_usage = number(read_optional(dir, "memory.current")?).unwrap_or(0);
    s.memory_limit = number(read_optional(dir, "memory.max")?);
    s.pids_current = number(read_optional(dir, "pids.current")?).unwrap_or(0);
    s.pids_limit = number(read_optional(dir, "pids.max")?);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_stats_read_the_kernel_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("cpu.stat"),
            "usage_usec 1500\nuser_usec 1000\n",
        )
        .unwrap();
        std::fs::write(d.path().join("memory.current"), "4096\n").unwrap();
        std::fs::write(d.path().join("memory.max"), "max\n").unwrap();
        std::fs::write(d.path().join("pids.current"), "3\n").unwrap();
        std::fs::write(d.path().join("pids.max"), "50\n").unwrap();
        let s = v2(d.path()).unwrap();
        assert_eq!(
            s,
            Stats {
                cpu_usage_ns: 1_500_000,
                memory_usage: 4096,
                memory_limit: None,
                pids_current: 3,
                pids_limit: Some(50)
            }
        );
    }

    #[test]
    fn v1_unlimited_memory_reads_as_none() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("memory.usage_in_bytes"), "8192\n").unwrap();
        std::fs::write(
            d.path().join("memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        let s = v1(None, Some(d.path()), None).unwrap();
        assert_eq!((s.memory_usage, s.memory_limit), (8192, None));
    }
}
