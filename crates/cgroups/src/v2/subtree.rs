//! Controller delegation in cgroup v2. A controller works in a cgroup only if its parent
//! lists it in `cgroup.subtree_control`, and a parent can only enable what its own
//! `cgroup.controllers` offers (what *its* parent enabled). So making `/mydocker/<id>`
//! with a memory limit means writing `+memory` to `subtree_control` of the root and of
//! `/mydocker`, top-down. Kernel doc: admin-guide/cgroup-v2, "Enabling and Disabling".

use crate::cgroupfs::{make_dir, read, read_pids, write};
use crate::{CgroupError, Result};
use std::path::Path;

/// The controllers a container's limits use, in the order they are enabled.
const WANTED: [&str; 5] = ["cpu", "cpuset", "memory", "pids", "io"];

/// The controllers available in the cgroup `dir` (its `cgroup.controllers`).
pub(crate) fn available(dir: &Path) -> Result<Vec<String>> {
    Ok(read(dir, "cgroup.controllers")?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// Makes `path` below `root` level by level and, in every level above it (the root
/// included), enables each wanted controller that level offers.
pub(crate) fn create(root: &Path, path: &Path) -> Result<()> {
    let relative = path.strip_prefix(root).unwrap_or(Path::new(""));
    let mut level = root.to_path_buf();
    for part in relative.components() {
        enable_wanted(&level)?;
        level.push(part);
        make_dir(&level)?;
    }
    Ok(())
}

/// Writes `+cpu +memory …` to `dir/cgroup.subtree_control` for the wanted controllers that
/// `dir` offers and has not enabled yet, in one write (the kernel applies all or none).
fn enable_wanted(dir: &Path) -> Result<()> {
    let offered = available(dir)?;
    let enabled = read(dir, "cgroup.subtree_control")?;
    let enabled: Vec<&str> = enabled.split_whitespace().collect();
    let missing: Vec<String> = WANTED
        .iter()
        .filter(|c| offered.iter().any(|o| o == *c) && !enabled.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(dir, "cgroup.subtree_control", missing.join(" ")).map_err(|e| explain_busy(dir, e))
}

/// EBUSY from `cgroup.subtree_control` means the cgroup holds processes (the kernel exempts
/// only the root): say so, with the pids, instead of "Device or resource busy".
fn explain_busy(dir: &Path, err: CgroupError) -> CgroupError {
    let CgroupError::Write { source, value, .. } = &err else {
        return err;
    };
    if source.raw_os_error() != Some(libc::EBUSY) {
        return err;
    }
    match read_pids(dir) {
        Ok(pids) if !pids.is_empty() => CgroupError::InternalProcesses {
            path: dir.to_path_buf(),
            controllers: value
                .split_whitespace()
                .map(|c| c.trim_start_matches('+').to_string())
                .collect(),
            pids,
        },
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn write_error(dir: &Path, errno: i32) -> CgroupError {
        CgroupError::Write {
            path: dir.join("cgroup.subtree_control"),
            value: "+cpu +memory".into(),
            source: io::Error::from_raw_os_error(errno),
        }
    }

    #[test]
    fn busy_with_processes_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "1\n17\n").unwrap();
        match explain_busy(dir.path(), write_error(dir.path(), libc::EBUSY)) {
            CgroupError::InternalProcesses {
                controllers, pids, ..
            } => {
                assert_eq!(controllers, ["cpu", "memory"]);
                assert_eq!(pids, [1, 17]);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn other_errors_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "").unwrap();
        let busy_but_empty = explain_busy(dir.path(), write_error(dir.path(), libc::EBUSY));
        assert!(matches!(busy_but_empty, CgroupError::Write { .. }));
        std::fs::write(dir.path().join("cgroup.procs"), "1\n").unwrap();
        let denied = explain_busy(dir.path(), write_error(dir.path(), libc::EACCES));
        assert!(matches!(denied, CgroupError::Write { .. }));
    }
}
