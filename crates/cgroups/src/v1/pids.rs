//! The v1 pids controller: `pids.max`, how many processes and threads the cgroup may hold
//! ("max" for no limit). Kernel doc: admin-guide/cgroup-v1/pids.

use crate::cgroupfs::write;
use crate::controller::Controller;
use crate::Result;
use oci_spec::runtime::LinuxResources;
use std::path::Path;

pub(crate) struct Pids;

impl Controller for Pids {
    fn name(&self) -> &'static str {
        "pids"
    }

    fn requested(&self, r: &LinuxResources) -> Option<&'static str> {
        // 0 is "not set" (as in runc); -1 asks for "max" explicitly.
        r.pids()
            .as_ref()
            .filter(|p| p.limit() != 0)
            .map(|_| "pids limit")
    }

    fn apply(&self, r: &LinuxResources, dir: &Path) -> Result<()> {
        if let Some(p) = r.pids() {
            write(dir, "pids.max", pids_max(p.limit()))?;
        }
        Ok(())
    }
}

/// The `pids.max` value of an OCI limit: zero or negative means no limit.
pub(crate) fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_string()
    }
}
