//! Where each cgroup v1 controller is mounted, read from `/proc/self/mountinfo`
//! (proc(5), "/proc/pid/mountinfo"). A line looks like
//!
//! ```text
//! 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
//! ```
//!
//! with the mount point in field 5, then optional fields up to a lone `-`, then the
//! filesystem type (`cgroup` for v1, `cgroup2` for v2, which we skip) and the super options,
//! which name the controllers of that hierarchy: several when they are co-mounted
//! (`rw,cpu,cpuacct`), and `name=systemd` for a controller-less named hierarchy.

use crate::{CgroupError, Result};
use std::path::{Path, PathBuf};

/// One cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// Where the hierarchy is mounted, e.g. `/sys/fs/cgroup/cpu,cpuacct`.
    pub mount_point: PathBuf,
    /// The controllers attached to it, e.g. `["cpu", "cpuacct"]`.
    pub controllers: Vec<String>,
}

/// The v1 hierarchies listed in the mountinfo file at `path`.
pub(crate) fn read(path: &Path) -> Result<Vec<CgroupMount>> {
    let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|reason| CgroupError::Parse {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses mountinfo text; the error is the reason, with its line number.
pub(crate) fn parse(text: &str) -> std::result::Result<Vec<CgroupMount>, String> {
    let mut mounts = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let sep = fields
            .iter()
            .position(|f| *f == "-")
            .filter(|&i| i >= 6 && fields.len() >= i + 4)
            .ok_or_else(|| format!("line {}: malformed mount entry {line:?}", n + 1))?;
        if fields[sep + 1] != "cgroup" {
            continue;
        }
        let controllers = fields[sep + 3]
            .split(',')
            .filter(|opt| is_controller(opt))
            .map(str::to_string)
            .collect::<Vec<_>>();
        if !controllers.is_empty() {
            mounts.push(CgroupMount {
                mount_point: PathBuf::from(unescape(fields[4])),
                controllers,
            });
        }
    }
    Ok(mounts)
}

/// Whether a super option is a controller, not a mount flag or a `name=` hierarchy.
fn is_controller(opt: &str) -> bool {
    !matches!(
        opt,
        "rw" | "ro" | "noprefix" | "clone_children" | "xattr" | "cpuset_v2_mode" | "all"
    ) && !opt.contains('=')
}

/// Undoes the kernel's octal escapes in mountinfo paths (`\040` is a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's mountinfo: v1 controllers mounted one per directory, a named systemd
    /// hierarchy and the hybrid cgroup2 on `unified`.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_each_controller_and_skips_named_and_v2() {
        let mounts = parse(HYBRID).unwrap();
        let names: Vec<_> = mounts.iter().map(|m| m.controllers.join(",")).collect();
        assert_eq!(
            names,
            ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"]
        );
        assert_eq!(mounts[3].mount_point, Path::new("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn co_mounted_controllers_share_a_mount() {
        let text = "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup \
                    rw,clone_children,cpu,cpuacct\n\
                    26 24 0:23 / /mnt/my\\040cgroups rw - cgroup none rw,xattr,release_agent=/x,pids\n";
        let mounts = parse(text).unwrap();
        assert_eq!(mounts[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(
            mounts[0].mount_point,
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(mounts[1].controllers, ["pids"]);
        assert_eq!(mounts[1].mount_point, Path::new("/mnt/my cgroups"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse("1 2 3\n").unwrap_err().starts_with("line 1:"));
    }
}
