//! The v1 memory controller: `memory.limit_in_bytes` (RAM), `memory.memsw.limit_in_bytes`
//! (RAM plus swap, present only with swap accounting), `memory.soft_limit_in_bytes`,
//! `memory.swappiness` and `memory.oom_control`. Kernel doc: admin-guide/cgroup-v1/memory.
//!
//! The kernel keeps `limit <= memsw` at every instant, so the two are written in the order
//! that never breaks it (see [`swap_first`]).

use crate::cgroupfs::{read, write};
use crate::controller::Controller;
use crate::{CgroupError, Result};
use oci_spec::runtime::{LinuxMemory, LinuxResources};
use std::path::Path;

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

pub(crate) struct Memory;

/// OCI's 0 means "not set" for every memory value (as in runc).
fn set(value: Option<i64>) -> Option<i64> {
    value.filter(|&v| v != 0)
}

impl Controller for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn requested(&self, r: &LinuxResources) -> Option<&'static str> {
        let m = r.memory().as_ref()?;
        if set(m.limit()).is_some() {
            Some("memory limit")
        } else if set(m.swap()).is_some() {
            Some("memory+swap limit")
        } else if set(m.reservation()).is_some() {
            Some("memory reservation")
        } else if m.swappiness().is_some() {
            Some("memory swappiness")
        } else if m.disable_oom_killer() == Some(true) {
            Some("oom killer disable")
        } else {
            None
        }
    }

    fn validate(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        let Some(m) = r.memory() else { return Ok(()) };
        validate_values(m)?;
        if set(m.swap()).is_some_and(|s| s != -1) && !dir.join(MEMSW).exists() {
            return Err(CgroupError::Unsupported {
                limit: "memory+swap limit".into(),
                reason: format!(
                    "{} does not exist (swap accounting is off: boot with swapaccount=1)",
                    dir.join(MEMSW).display()
                ),
            });
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        let Some(m) = r.memory() else { return Ok(()) };
        let limit = set(m.limit());
        // Unlimited memory with swap unspecified means unlimited swap too, or the kernel
        // would refuse a memory limit above the old memsw limit.
        let swap = match set(m.swap()) {
            None if limit == Some(-1) && dir.join(MEMSW).exists() => Some(-1),
            None => None,
            Some(-1) if !dir.join(MEMSW).exists() => None,
            other => other,
        };
        match (limit, swap) {
            (Some(limit), Some(swap)) => {
                let current: u64 = read(dir, LIMIT)?.parse().map_err(|_| CgroupError::Parse {
                    path: dir.join(LIMIT),
                    reason: "not a number of bytes".into(),
                })?;
                if swap_first(current, swap) {
                    write(dir, MEMSW, swap)?;
                    write(dir, LIMIT, limit)?;
                } else {
                    write(dir, LIMIT, limit)?;
                    write(dir, MEMSW, swap)?;
                }
            }
            (Some(limit), None) => write(dir, LIMIT, limit)?,
            (None, Some(swap)) => write(dir, MEMSW, swap)?,
            (None, None) => {}
        }
        if let Some(reservation) = set(m.reservation()) {
            write(dir, "memory.soft_limit_in_bytes", reservation)?;
        }
        if let Some(swappiness) = m.swappiness() {
            write(dir, "memory.swappiness", swappiness)?;
        }
        if m.disable_oom_killer() == Some(true) {
            write(dir, "memory.oom_control", 1)?;
        }
        Ok(())
    }
}

/// Checks the values alone: -1 (unlimited) or a positive number, memory+swap at least the
/// memory limit, swappiness at most 100.
pub(crate) fn validate_values(m: &LinuxMemory) -> Result<()> {
    let invalid = |what: &str, reason: String| CgroupError::InvalidValue {
        what: what.to_string(),
        reason,
    };
    for (what, value) in [
        ("memory limit", m.limit()),
        ("memory+swap limit", m.swap()),
        ("memory reservation", m.reservation()),
    ] {
        if let Some(v) = value.filter(|&v| v < -1) {
            return Err(invalid(
                what,
                format!("{v} is negative (only -1, unlimited, is allowed)"),
            ));
        }
    }
    if let (Some(limit), Some(swap)) = (set(m.limit()), set(m.swap())) {
        if limit > 0 && swap > 0 && swap < limit {
            return Err(invalid(
                "memory+swap limit",
                format!(
                    "{swap} is lower than the memory limit {limit}: it counts memory plus swap"
                ),
            ));
        }
    }
    if let Some(s) = m.swappiness().filter(|&s| s > 100) {
        return Err(invalid(
            "memory swappiness",
            format!("{s} is not between 0 and 100"),
        ));
    }
    Ok(())
}

/// Whether memsw must be written before the memory limit. With the new memsw at or above the
/// current memory limit (or unlimited), memsw first is safe and then memory fits under it;
/// otherwise lowering memory first keeps it under the old memsw. On a fresh cgroup both are
/// unlimited, so memory goes first.
pub(crate) fn swap_first(current_limit: u64, new_swap: i64) -> bool {
    new_swap == -1 || u64::try_from(new_swap).is_ok_and(|s| current_limit < s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;

    const MIB: i64 = 1024 * 1024;
    /// What a fresh v1 cgroup reports as its limit (unlimited, page-rounded).
    const FRESH: u64 = 9_223_372_036_854_771_712;

    #[test]
    fn write_order_keeps_limit_below_memsw() {
        assert!(!swap_first(FRESH, 128 * MIB), "fresh cgroup: limit first");
        assert!(swap_first(64 << 20, 256 * MIB), "raising: memsw first");
        assert!(!swap_first(128 << 20, 48 * MIB), "lowering: limit first");
        assert!(swap_first(64 << 20, -1), "unlimited swap: memsw first");
    }

    #[test]
    fn swap_below_limit_is_refused() {
        let m = LinuxMemoryBuilder::default()
            .limit(100 * MIB)
            .swap(50 * MIB)
            .build()
            .unwrap();
        let err = validate_values(&m).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid memory+swap limit: 52428800 is lower"),
            "{err}"
        );
    }
}
