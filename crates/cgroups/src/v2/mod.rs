//! cgroup v2: one unified tree, normally mounted on `/sys/fs/cgroup`, where a container's
//! cgroup is a single directory (`/sys/fs/cgroup/mydocker/<id>`) and controllers are
//! enabled for it by its ancestors (`subtree`). Kernel doc: admin-guide/cgroup-v2; man
//! page: cgroups(7).
//!
//! The controllers live in their own files: `memory`, `cpu`, `cpuset`, `pids`, and
//! `freezer` (pause).
//! A v2 cgroup can be opened as a directory fd and handed to `clone3(CLONE_INTO_CGROUP)`,
//! so the container's init is born inside its limits; and it can be killed in one write to
//! `cgroup.kill` (Linux 5.14).

mod cpu;
mod cpuset;
mod freezer;
mod memory;
mod pids;
mod subtree;

use crate::cgroupfs::{self, write};
use crate::controller::Controller;
use crate::{unimplemented, CgroupError, CgroupManager, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxResources;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The controllers that write limits.
const CONTROLLERS: [&dyn Controller; 4] =
    [&memory::Memory, &cpu::Cpu, &cpuset::Cpuset, &pids::Pids];

/// A container's cgroup on a cgroup v2 tree.
#[derive(Debug)]
pub struct Manager {
    root: PathBuf,
    path: PathBuf,
}

impl Manager {
    /// The cgroup `cgroups_path` below the v2 mount `root` (normally
    /// [`crate::hierarchy::CGROUP_ROOT`]). Touches nothing.
    pub fn new(root: &Path, cgroups_path: &str) -> Result<Self> {
        Ok(Manager {
            root: root.to_path_buf(),
            path: cgroupfs::join_cgroups_path(root, cgroups_path)?,
        })
    }

    /// The parent cgroup, which decides which controllers ours may use.
    fn parent(&self) -> &Path {
        self.path.parent().unwrap_or(&self.root)
    }

    /// Fails with `Unsupported` for the first requested limit whose controller the parent
    /// does not offer.
    fn check_available(&self, work: &[(&dyn Controller, &'static str)]) -> Result<()> {
        if work.is_empty() {
            return Ok(());
        }
        let parent = self.parent();
        let offered = subtree::available(parent)?;
        for (c, limit) in work {
            if !offered.iter().any(|o| o == c.name()) {
                let listed = if offered.is_empty() {
                    "cgroup.controllers is empty".to_string()
                } else {
                    format!("cgroup.controllers: {}", offered.join(" "))
                };
                return Err(CgroupError::Unsupported {
                    limit: limit.to_string(),
                    reason: format!(
                        "the {} controller is not available in {} ({listed})",
                        c.name(),
                        parent.display()
                    ),
                });
            }
        }
        Ok(())
    }
}

impl CgroupManager for Manager {
    fn create(&self) -> Result<()> {
        subtree::create(&self.root, &self.path)
    }

    fn apply(&self, resources: &LinuxResources) -> Result<()> {
        unimplemented::reject(resources)?;
        let work: Vec<(&dyn Controller, &'static str)> = CONTROLLERS
            .iter()
            .filter_map(|c| c.requested(resources).map(|limit| (*c, limit)))
            .collect();
        self.check_available(&work)?;
        for (c, _) in &work {
            c.validate(resources, &self.path)?;
        }
        for (c, _) in &work {
            c.apply(resources, &self.path)?;
        }
        Ok(())
    }

    fn add_task(&self, pid: i32) -> Result<()> {
        cgroupfs::add_task(&self.path, pid)
    }

    fn clone_into_fd(&self) -> Result<Option<OwnedFd>> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        open(&self.path, flags, Mode::empty())
            .map(Some)
            .map_err(|source| CgroupError::Open {
                path: self.path.clone(),
                source,
            })
    }

    fn pids(&self) -> Result<Vec<i32>> {
        cgroupfs::read_pids(&self.path)
    }

    fn destroy(&self) -> Result<()> {
        let kill = |dir: &Path| {
            if dir.join("cgroup.kill").exists() {
                write(dir, "cgroup.kill", 1)
            } else {
                cgroupfs::kill_all(dir).map(drop)
            }
        };
        cgroupfs::remove_dir(&self.path, &kill)
    }

    fn freeze(&self) -> Result<()> {
        freezer::freeze(&self.path)
    }

    fn thaw(&self) -> Result<()> {
        freezer::thaw(&self.path)
    }

    fn stats(&self) -> Result<crate::Stats> {
        crate::stats::v2(&self.path)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
