//! The v1 cpuset controller: `cpuset.cpus` and `cpuset.mems`, the CPUs and memory nodes the
//! cgroup's processes may use (cpuset(7)).
//!
//! A new v1 cpuset cgroup starts with both lists empty, and the kernel refuses to add a task
//! to it (`ENOSPC`, "No space left on device"). So every level we make, from the mount point
//! down, gets its parent's lists copied in ([`inherit`]) before anything joins.

use crate::cgroupfs::{read, read_optional, write};
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
        for (what, requested, file) in [("cpus", c.cpus(), "cpus"), ("mems", c.mems(), "mems")] {
            if let Some(requested) = requested.as_deref().filter(|s| !s.trim().is_empty()) {
                let available = effective(parent, file)?;
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

/// What the cgroup at `dir` may really use: `cpuset.effective_<file>`, or `cpuset.<file>` on
/// kernels without the effective files.
fn effective(dir: &Path, file: &str) -> Result<String> {
    match read_optional(dir, &format!("cpuset.effective_{file}"))? {
        Some(list) => Ok(list),
        None => read(dir, &format!("cpuset.{file}")),
    }
}

/// Copies `cpuset.cpus` and `cpuset.mems` from the parent of `level` into `level` where they
/// are empty.
pub(crate) fn inherit(level: &Path) -> Result<()> {
    let Some(parent) = level.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read(level, file)?.is_empty() {
            write(level, file, read(parent, file)?)?;
        }
    }
    Ok(())
}
