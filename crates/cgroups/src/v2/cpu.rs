//! The v2 cpu controller: `cpu.weight` (1–10000, default 100, the v2 form of v1's shares) and
//! `cpu.max` (`"<quota|max> <period>"`, in µs). Kernel doc: admin-guide/cgroup-v2, "CPU".

use crate::cgroupfs::write;
use crate::controller::Controller;
use crate::Result;
use oci_spec::runtime::LinuxResources;
use std::path::Path;

/// The period written with a quota when the spec gives none (the kernel's default).
const DEFAULT_PERIOD: u64 = 100_000;

pub(crate) struct Cpu;

impl Controller for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn requested(&self, r: &LinuxResources) -> Option<&'static str> {
        let c = r.cpu().as_ref()?;
        if c.shares().is_some_and(|s| s != 0) {
            Some("cpu shares")
        } else if c.quota().is_some_and(|q| q != 0) || c.period().is_some_and(|p| p != 0) {
            Some("cpu quota")
        } else {
            None
        }
    }

    fn apply(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        let Some(c) = r.cpu() else { return Ok(()) };
        if let Some(shares) = c.shares().filter(|&s| s != 0) {
            write(dir, "cpu.weight", shares_to_weight(shares))?;
        }
        let quota = c.quota().unwrap_or(0);
        let period = c.period().unwrap_or(0);
        if quota != 0 || period != 0 {
            write(dir, "cpu.max", cpu_max(quota, period))?;
        }
        Ok(())
    }
}

/// v1 shares (2–262144) to v2 weight (1–10000), the conversion runc and crun use:
/// `1 + ((shares - 2) * 9999) / 262142`. Out-of-range shares are clamped first, as the
/// v1 kernel would.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The `cpu.max` line: a positive quota, or "max" for none; the period or the default.
pub(crate) fn cpu_max(quota: i64, period: u64) -> String {
    let period = if period == 0 { DEFAULT_PERIOD } else { period };
    if quota > 0 {
        format!("{quota} {period}")
    } else {
        format!("max {period}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_become_weights() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn cpu_max_has_a_period() {
        assert_eq!(cpu_max(50_000, 100_000), "50000 100000");
        assert_eq!(cpu_max(50_000, 0), "50000 100000");
        assert_eq!(cpu_max(-1, 0), "max 100000");
        assert_eq!(cpu_max(0, 20_000), "max 20000");
    }
}
