//! cgroup v1: one hierarchy (directory tree) per controller, each mounted on its own, e.g.
//! `/sys/fs/cgroup/memory`. A container's cgroup is one directory in every hierarchy, named
//! by the same `cgroupsPath` (`/sys/fs/cgroup/memory/mydocker/<id>`,
//! `/sys/fs/cgroup/cpu/mydocker/<id>`, …), and a process must be added to each of them.
//! Kernel doc: admin-guide/cgroup-v1/cgroups; man page: cgroups(7).
//!
//! The controllers live in their own files: `memory`, `cpu`, `cpuset`, `pids`, and
//! `freezer` (pause). `cpuacct`, `blkio` and `devices` get a directory and the process, no
//! limits.

mod cpu;
mod cpuset;
mod freezer;
pub(crate) mod memory;
pub(crate) mod mountinfo;
pub(crate) mod pids;

use crate::cgroupfs;
use crate::controller::Controller;
use crate::{unimplemented, CgroupError, CgroupManager, Result};
use oci_spec::runtime::LinuxResources;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The v1 controllers a container joins, in the order they are created and joined.
const SUBSYSTEMS: [&str; 8] = [
    "cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices",
];

/// The controllers that write limits.
const CONTROLLERS: [&dyn Controller; 4] =
    [&memory::Memory, &cpu::Cpu, &cpuset::Cpuset, &pids::Pids];

/// One controller's hierarchy and the container's directory in it.
#[derive(Debug, Clone)]
struct Subsystem {
    name: &'static str,
    mount_point: PathBuf,
    dir: PathBuf,
}

/// A container's cgroup on a v1 (legacy or hybrid) host.
#[derive(Debug)]
pub struct Manager {
    subsystems: Vec<Subsystem>,
    /// The cgroup in the memory hierarchy (or the first one mounted): for [`Manager::path`].
    main: PathBuf,
}

impl Manager {
    /// Finds each controller's mount point in `mountinfo` (normally `/proc/self/mountinfo`)
    /// and places the container at `cgroups_path` below each. Controllers that are not
    /// mounted are left out; a limit that needs one fails in `apply`. Touches nothing.
    pub fn new(mountinfo: &Path, cgroups_path: &str) -> Result<Self> {
        let mounts = mountinfo::read(mountinfo)?;
        let mut subsystems = Vec::new();
        for name in SUBSYSTEMS {
            let Some(mount) = mounts
                .iter()
                .find(|m| m.controllers.iter().any(|c| c == name))
            else {
                continue;
            };
            subsystems.push(Subsystem {
                name,
                dir: cgroupfs::join_cgroups_path(&mount.mount_point, cgroups_path)?,
                mount_point: mount.mount_point.clone(),
            });
        }
        let main = ["memory", "pids"]
            .iter()
            .find_map(|name| subsystems.iter().find(|s| s.name == *name))
            .or(subsystems.first())
            .map(|s| s.dir.clone())
            .ok_or_else(|| CgroupError::NoMount {
                controller: "memory".into(),
                mountinfo: mountinfo.to_path_buf(),
            })?;
        Ok(Manager { subsystems, main })
    }

    /// The container's directory in the hierarchy of `controller`, if that one is mounted.
    pub fn controller_path(&self, controller: &str) -> Option<&Path> {
        self.subsystems
            .iter()
            .find(|s| s.name == controller)
            .map(|s| s.dir.as_path())
    }

    /// Each distinct directory once (co-mounted controllers share one), with its subsystem.
    fn distinct(&self) -> impl Iterator<Item = &Subsystem> {
        self.subsystems
            .iter()
            .enumerate()
            .filter(|(i, s)| !self.subsystems[..*i].iter().any(|o| o.dir == s.dir))
            .map(|(_, s)| s)
    }

    /// Makes the directories of one hierarchy level by level; cpuset levels inherit their
    /// parent's lists. `Ok(true)` if the leaf was made now.
    fn create_in(s: &Subsystem) -> Result<bool> {
        let relative = s.dir.strip_prefix(&s.mount_point).unwrap_or(Path::new(""));
        let mut level = s.mount_point.clone();
        let mut made = false;
        for part in relative.components() {
            level.push(part);
            made = cgroupfs::make_dir(&level)?;
            if s.name == "cpuset" {
                cpuset::inherit(&level)?;
            }
        }
        Ok(made)
    }

    /// The container's freezer cgroup, or `Unsupported` naming `what`.
    fn freezer(&self, what: &str) -> Result<&Path> {
        self.controller_path("freezer")
            .ok_or_else(|| CgroupError::Unsupported {
                limit: what.to_string(),
                reason: "the freezer controller is not mounted (cgroup v1)".into(),
            })
    }
}

impl CgroupManager for Manager {
    fn create(&self) -> Result<()> {
        let mut made = Vec::new();
        for s in self.distinct() {
            match Self::create_in(s) {
                Ok(true) => made.push(&s.dir),
                Ok(false) => {}
                Err(e) => {
                    // Undo what this call made, leaving shared parents; the error that
                    // stopped us is the one worth reporting.
                    for dir in made {
                        let _ = std::fs::remove_dir(dir);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn apply(&self, resources: &LinuxResources) -> Result<()> {
        unimplemented::reject(resources)?;
        let mut work = Vec::new();
        for c in CONTROLLERS {
            let Some(limit) = c.requested(resources) else {
                continue;
            };
            let dir = self
                .controller_path(c.name())
                .ok_or_else(|| CgroupError::Unsupported {
                    limit: limit.to_string(),
                    reason: format!("the {} controller is not mounted (cgroup v1)", c.name()),
                })?;
            work.push((c, dir));
        }
        for (c, dir) in &work {
            c.validate(resources, dir)?;
        }
        for (c, dir) in &work {
            c.apply(resources, dir)?;
        }
        Ok(())
    }

    fn add_task(&self, pid: i32) -> Result<()> {
        self.distinct()
            .try_for_each(|s| cgroupfs::add_task(&s.dir, pid))
    }

    fn clone_into_fd(&self) -> Result<Option<OwnedFd>> {
        Ok(None)
    }

    fn pids(&self) -> Result<Vec<i32>> {
        cgroupfs::read_pids(&self.main)
    }

    fn destroy(&self) -> Result<()> {
        // A frozen v1 cgroup would keep SIGKILLed processes alive: thaw it first.
        let thawed = match self.controller_path("freezer") {
            Some(dir) => freezer::thaw(dir),
            None => Ok(()),
        };
        let mut first_error = thawed.err();
        for s in self.distinct() {
            let kill = |dir: &Path| cgroupfs::kill_all(dir).map(drop);
            if let Err(e) = cgroupfs::remove_dir(&s.dir, &kill) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn freeze(&self) -> Result<()> {
        freezer::freeze(self.freezer("freeze")?)
    }

    fn thaw(&self) -> Result<()> {
        freezer::thaw(self.freezer("thaw")?)
    }

    fn stats(&self) -> Result<crate::Stats> {
        crate::stats::v1(
            self.controller_path("cpuacct"),
            self.controller_path("memory"),
            self.controller_path("pids"),
        )
    }

    fn path(&self) -> &Path {
        &self.main
    }
}

#[cfg(test)]
mod tests;
