//! Which kernel interface the host offers for cgroups, read from the filesystem mounted on
//! `/sys/fs/cgroup` (statfs(2) magic numbers, see cgroups(7) "CGROUPS VERSION 1 AND 2"):
//!
//! - a cgroup2 filesystem there: **unified**, cgroup v2 only;
//! - a tmpfs holding one v1 hierarchy per controller, plus a cgroup2 on
//!   `/sys/fs/cgroup/unified`: **hybrid** (v1 does the limits, v2 only tracks processes);
//! - the same tmpfs without that cgroup2: **legacy**, cgroup v1 only.

use crate::{CgroupError, Result};
use nix::sys::statfs::{statfs, FsType, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};
use std::path::Path;

/// Where cgroup filesystems are mounted on every distribution we know.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The shape of the host's cgroup mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// cgroup v1 only: one hierarchy per controller (or co-mounted group of controllers).
    Legacy,
    /// cgroup v1 controllers, plus a controller-less cgroup2 at `<root>/unified`.
    Hybrid,
    /// cgroup v2 only: one tree with every controller.
    Unified,
}

impl Hierarchy {
    /// The hierarchy of this host, from [`CGROUP_ROOT`].
    pub fn detect() -> Result<Self> {
        Self::detect_at(Path::new(CGROUP_ROOT))
    }

    /// The hierarchy whose root is mounted at `root` (for tests, or unusual hosts).
    pub fn detect_at(root: &Path) -> Result<Self> {
        match fs_type(root)? {
            CGROUP2_SUPER_MAGIC => Ok(Hierarchy::Unified),
            TMPFS_MAGIC => match fs_type(&root.join("unified")) {
                Ok(CGROUP2_SUPER_MAGIC) => Ok(Hierarchy::Hybrid),
                _ => Ok(Hierarchy::Legacy),
            },
            #[allow(clippy::useless_conversion)] // the magic's C type differs by libc and arch
            other => Err(CgroupError::NotCgroupMount {
                path: root.to_path_buf(),
                magic: i64::from(other.0),
            }),
        }
    }
}

fn fs_type(path: &Path) -> Result<FsType> {
    statfs(path)
        .map(|s| s.filesystem_type())
        .map_err(|source| CgroupError::Statfs {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_host_has_a_cgroup_mount() {
        Hierarchy::detect().unwrap();
    }

    #[test]
    fn tmpfs_without_unified_cgroup2_is_legacy() {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        std::fs::create_dir(dir.path().join("unified")).unwrap();
        assert_eq!(Hierarchy::detect_at(dir.path()).unwrap(), Hierarchy::Legacy);
    }

    #[test]
    fn other_filesystems_are_refused() {
        let err = Hierarchy::detect_at(Path::new("/proc")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc is not a cgroup mount (filesystem magic 0x9fa0)"
        );
    }
}
