//! The v1 freezer controller: writing `FROZEN` to `freezer.state` stops every task of the
//! cgroup, which reads `FREEZING` until all are stopped; `THAWED` lets them run again.
//! Kernel doc: admin-guide/cgroup-v1/freezer-subsystem.

use crate::cgroupfs::{read_optional, wait_for, write};
use crate::{CgroupError, Result};
use std::path::Path;

const STATE: &str = "freezer.state";

/// Freezes the cgroup `dir` and waits until it reads `FROZEN`.
pub(crate) fn freeze(dir: &Path) -> Result<()> {
    write(dir, STATE, "FROZEN")?;
    wait_for(dir, STATE, |s| s == "FROZEN")?.map_err(|(state, waited_ms)| {
        CgroupError::FreezeTimeout {
            path: dir.join(STATE),
            state,
            waited_ms,
        }
    })
}

/// Thaws the cgroup `dir` if it is frozen (or freezing); a missing cgroup has nothing to
/// thaw.
pub(crate) fn thaw(dir: &Path) -> Result<()> {
    match read_optional(dir, STATE)? {
        Some(state) if state != "THAWED" => write(dir, STATE, "THAWED"),
        _ => Ok(()),
    }
}
