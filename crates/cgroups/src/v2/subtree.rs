//! Controller delegation in cgroup v2. A controller works in a cgroup only if its parent
//! lists it in `cgroup.subtree_control`, and a parent can only enable what its own
//! `cgroup.controllers` offers (what *its* parent enabled). So making `/mydocker/<id>`
//! with a memory limit means writing `+memory` to `subtree_control` of the root and of
//! `/mydocker`, top-down. Kernel doc: admin-guide/cgroup-v2, "Enabling and Disabling".

use crate::cgroupfs::{make_dir, read, write};
use crate::Result;
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
    write(dir, "cgroup.subtree_control", missing.join(" "))
}
