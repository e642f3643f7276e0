//! The v2 memory controller: `memory.max` (hard limit), `memory.swap.max` (swap only, present
//! with swap accounting) and `memory.low` (best-effort protection, OCI's reservation).
//! Kernel doc: admin-guide/cgroup-v2, "Memory".
//!
//! OCI's `swap` is memory plus swap (the v1 meaning), so [`swap_max`] converts it.

use crate::cgroupfs::write;
use crate::controller::Controller;
use crate::v1::memory::validate_values;
use crate::{CgroupError, Result};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

const SWAP_MAX: &str = "memory.swap.max";

pub(crate) struct Memory;

/// OCI's 0 means "not set" for every memory value (as in runc).
fn value(v: Option<i64>) -> i64 {
    v.unwrap_or(0)
}

/// A limit as v2 writes it: -1 is "max".
fn limit_text(v: i64) -> String {
    if v == -1 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

impl Controller for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn requested(&self, r: &LinuxResources) -> Option<&'static str> {
        let m = r.memory().as_ref()?;
        if value(m.limit()) != 0 {
            Some("memory limit")
        } else if value(m.swap()) != 0 {
            Some("memory+swap limit")
        } else if value(m.reservation()) != 0 {
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
        let unsupported = |limit: &str, reason: &str| CgroupError::Unsupported {
            limit: limit.to_string(),
            reason: reason.to_string(),
        };
        if m.swappiness().is_some() {
            return Err(unsupported(
                "memory swappiness",
                "cgroup v2 has no per-cgroup swappiness",
            ));
        }
        if m.disable_oom_killer() == Some(true) {
            return Err(unsupported(
                "oom killer disable",
                "cgroup v2 cannot disable the oom killer",
            ));
        }
        let swap = swap_max(value(m.limit()), value(m.swap()))?;
        if value(m.swap()) > 0 && swap.is_some() && !dir.join(SWAP_MAX).exists() {
            return Err(CgroupError::Unsupported {
                limit: "memory+swap limit".into(),
                reason: format!(
                    "{} does not exist (swap accounting is off)",
                    dir.join(SWAP_MAX).display()
                ),
            });
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        let Some(m) = r.memory() else { return Ok(()) };
        let (limit, swap) = (value(m.limit()), value(m.swap()));
        if limit != 0 {
            write(dir, "memory.max", limit_text(limit))?;
        }
        if let Some(swap) = swap_max(limit, swap)? {
            // "max" on a host without swap accounting changes nothing: skip it there.
            if swap != "max" || dir.join(SWAP_MAX).exists() {
                write(dir, SWAP_MAX, swap)?;
            }
        }
        let reservation = value(m.reservation());
        if reservation != 0 {
            write(dir, "memory.low", limit_text(reservation))?;
        }
        Ok(())
    }
}

/// The `memory.swap.max` value for OCI's memory `limit` and memory+swap `swap` (0 = not
/// set, -1 = unlimited), as runc converts it: unlimited memory with swap unset means
/// unlimited swap too; otherwise swap alone is `swap - limit`.
pub(crate) fn swap_max(limit: i64, swap: i64) -> Result<Option<String>> {
    match (limit, swap) {
        (-1, 0) | (_, -1) => Ok(Some("max".to_string())),
        (_, 0) => Ok(None),
        (0 | -1, _) => Err(CgroupError::InvalidValue {
            what: "memory+swap limit".into(),
            reason: "it cannot be set without a memory limit".into(),
        }),
        (limit, swap) if swap < limit => Err(CgroupError::InvalidValue {
            what: "memory+swap limit".into(),
            reason: format!("{swap} is lower than the memory limit {limit}"),
        }),
        (limit, swap) => Ok(Some((swap - limit).to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_swap_is_memory_plus_swap() {
        let mib = 1024 * 1024;
        assert_eq!(
            swap_max(64 * mib, 96 * mib).unwrap().as_deref(),
            Some("33554432")
        );
        assert_eq!(swap_max(64 * mib, 64 * mib).unwrap().as_deref(), Some("0"));
        assert_eq!(swap_max(64 * mib, -1).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(-1, 0).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(64 * mib, 0).unwrap(), None);
        assert!(swap_max(0, 96 * mib).is_err());
        assert!(swap_max(96 * mib, 64 * mib).is_err());
    }
}
