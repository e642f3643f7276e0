//! The seam between a manager and one cgroup controller (memory, cpu, cpuset, pids): each
//! controller is a unit struct in its own file under `v1/` or `v2/` that says which limits
//! of an OCI `LinuxResources` it handles and writes them into a cgroup directory.
//!
//! A manager first asks every controller whether it is `requested` (so a missing controller
//! is reported by the limit that needs it), then `validate`s all of them, and only then
//! `apply`s: a bad value is refused before the first write.

use crate::Result;
use oci_spec::runtime::LinuxResources;
use std::path::Path;

pub(crate) trait Controller: Sync {
    /// The controller's kernel name: a v1 mount option, a word in v2's `cgroup.controllers`.
    fn name(&self) -> &'static str;

    /// The first limit in `resources` this controller would write ("memory limit"), if any.
    fn requested(&self, resources: &LinuxResources) -> Option<&'static str>;

    /// Checks the requested values (against the cgroup's parent where needed) without
    /// writing anything.
    fn validate(&self, _resources: &LinuxResources, _dir: &Path) -> Result<()> {
        Ok(())
    }

    /// Writes the requested limits into the cgroup directory `dir`.
    fn apply(&self, resources: &LinuxResources, dir: &Path) -> Result<()>;
}
