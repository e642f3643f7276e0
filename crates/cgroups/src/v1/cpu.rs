//! The v1 cpu controller: `cpu.shares` (relative weight, default 1024) and the CFS bandwidth
//! pair `cpu.cfs_period_us` / `cpu.cfs_quota_us` (at most quota µs of CPU per period; -1 is
//! no limit). Kernel doc: scheduler/sched-bwc.

use crate::cgroupfs::write;
use crate::controller::Controller;
use crate::Result;
use oci_spec::runtime::LinuxResources;
use std::path::Path;

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
            write(dir, "cpu.shares", shares)?;
        }
        // The period first: the kernel checks the quota against the period it has.
        if let Some(period) = c.period().filter(|&p| p != 0) {
            write(dir, "cpu.cfs_period_us", period)?;
        }
        if let Some(quota) = c.quota().filter(|&q| q != 0) {
            write(dir, "cpu.cfs_quota_us", quota.max(-1))?;
        }
        Ok(())
    }
}
