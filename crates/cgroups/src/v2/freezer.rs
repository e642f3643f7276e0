//! The v2 freezer, built into every cgroup: `cgroup.freeze` set to 1 stops the processes,
//! and `cgroup.events` shows `frozen 1` once all are stopped; 0 thaws.
//! Kernel doc: admin-guide/cgroup-v2, "Core Interface Files".

use crate::cgroupfs::{wait_for, write};
use crate::{CgroupError, Result};
use std::path::Path;

/// Freezes the cgroup `dir` and waits until `cgroup.events` says `frozen 1`.
pub(crate) fn freeze(dir: &Path) -> Result<()> {
    write(dir, "cgroup.freeze", 1)?;
    wait_for(dir, "cgroup.events", |events| {
        events.lines().any(|l| l == "frozen 1")
    })?
    .map_err(|(state, waited_ms)| CgroupError::FreezeTimeout {
        path: dir.join("cgroup.events"),
        state,
        waited_ms,
    })
}

/// Thaws the cgroup `dir`.
pub(crate) fn thaw(dir: &Path) -> Result<()> {
    write(dir, "cgroup.freeze", 0)
}
