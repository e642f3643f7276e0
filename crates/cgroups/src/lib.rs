//! Control groups: the kernel's way to limit what a group of processes may use.
//!
//! A container gets one cgroup. This crate creates it, writes the limits of an OCI
//! `LinuxResources` into it, places processes in it, reads its statistics, and removes it.
//! The host decides which kernel interface we talk to (see [`Hierarchy`]); callers only see
//! the [`CgroupManager`] trait, with one implementation per interface:
//! [`v1`] (one tree per controller) and [`v2`] (one unified tree).
//!
//! Shared pieces: [`CgroupError`] (error), the interface-file helpers (cgroupfs), the
//! per-controller seam (controller), CPU-list parsing (cpulist) and the list of OCI limits
//! not implemented yet (unimplemented).
//!
//! Man page: cgroups(7).

mod cgroupfs;
mod controller;
mod cpulist;
mod error;
pub mod hierarchy;
pub mod stats;
mod unimplemented;
pub mod v1;
pub mod v2;

pub use error::CgroupError;
pub use hierarchy::Hierarchy;
pub use stats::Stats;

use oci_spec::runtime::LinuxResources;
use std::os::fd::OwnedFd;
use std::path::Path;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, CgroupError>;

/// What a container's cgroup can do, whatever the kernel interface below it.
pub trait CgroupManager {
    /// Creates the cgroup directories (and, on v2, enables the controllers it needs in the
    /// ancestors). Creating a cgroup that exists is not an error.
    fn create(&self) -> Result<()>;

    /// Writes every limit that `resources` sets. A limit the host cannot apply is an error
    /// naming the limit (never silently ignored).
    fn apply(&self, resources: &LinuxResources) -> Result<()>;

    /// Moves a process (all its threads) into the cgroup.
    fn add_task(&self, pid: i32) -> Result<()>;

    /// On cgroup v2, an fd of the cgroup directory for `clone3(CLONE_INTO_CGROUP)`, so the
    /// child is born inside its cgroup. `None` on v1.
    fn clone_into_fd(&self) -> Result<Option<OwnedFd>>;

    /// The pids of every process in the cgroup.
    fn pids(&self) -> Result<Vec<i32>>;

    /// Kills whatever is still in the cgroup, then removes the cgroup directories, retrying
    /// while the kernel still reports it busy. Removing a cgroup that does not exist is not an
    /// error, so teardown can run twice.
    fn destroy(&self) -> Result<()>;

    /// Stops every process in the cgroup (`docker pause`) and waits until the kernel says
    /// they are all frozen. The default refuses: a manager without a freezer.
    fn freeze(&self) -> Result<()> {
        Err(CgroupError::Unsupported {
            limit: "freeze".into(),
            reason: "this cgroup manager has no freezer".into(),
        })
    }

    /// Lets the processes of a frozen cgroup run again (`docker unpause`). Thawing a cgroup
    /// that is not frozen is not an error.
    fn thaw(&self) -> Result<()> {
        Err(CgroupError::Unsupported {
            limit: "thaw".into(),
            reason: "this cgroup manager has no freezer".into(),
        })
    }

    /// What the cgroup has used so far (CPU time, memory, pids).
    fn stats(&self) -> Result<Stats>;

    /// The cgroup's directory (v2) or its directory in the memory controller's tree (v1):
    /// for messages and tests.
    fn path(&self) -> &Path;
}

/// Returns the manager for `cgroups_path` (an OCI `linux.cgroupsPath` such as
/// `/mydocker/<id>`) on this host.
pub fn manager_for(cgroups_path: &str) -> Result<Box<dyn CgroupManager>> {
    match Hierarchy::detect()? {
        Hierarchy::Unified => Ok(Box::new(v2::Manager::new(
            Path::new(hierarchy::CGROUP_ROOT),
            cgroups_path,
        )?)),
        Hierarchy::Legacy | Hierarchy::Hybrid => Ok(Box::new(v1::Manager::new(
            Path::new("/proc/self/mountinfo"),
            cgroups_path,
        )?)),
    }
}
