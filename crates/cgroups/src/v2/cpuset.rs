//! The v2 cpuset controller: `cpuset.cpus` and `cpuset.mems`. Unlike v1, an empty list means
//! "whatever the parent has", so a new cgroup needs no copying; a request is checked against
//! the parent's `cpuset.cpus.effective` / `cpuset.mems.effective`.
//! Kernel doc: admin-guide/cgroup-v2, "Cpuset".

use crate::cgroupfs::{read, write};
use crate::controller::Controller;
use crate::cpulist::check_available;
use crate::Result;
use oci_spec::runtime::LinuxResources;
use std::path::Path;

pub(crate) struct Cpuset;

impl Controller for Cpuset {
    fn name(&self) -> &'static str {
        "cpuset"
    }

    fn requested(&self, r: &LinuxResources) -> Option<&'static str> {
        crate::cpulist::cpuset_requested(r)
    }

    fn validate(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        let Some(c) = r.cpu() else { return Ok(()) };
        let parent = dir.parent().unwrap_or(dir);
        for (what, requested) in [("cpus", c.cpus()), ("mems", c.mems())] {
            if let Some(requested) = requested.as_deref().filter(|s| !s.trim().is_empty()) {
                let available = read(parent, &format!("cpuset.{what}.effective"))?;
                check_available(what, requested, &available)?;
            }
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        let Some(c) = r.cpu() else { return Ok(()) };
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.trim().is_empty()) {
            write(dir, "cpuset.cpus", cpus.trim())?;
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.trim().is_empty()) {
            write(dir, "cpuset.mems", mems.trim())?;
        }
        Ok(())
    }
}
