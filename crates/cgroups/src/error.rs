//! The crate's error type. Each variant names the step that failed and carries the cgroup
//! file or directory it touched (and, for writes, the value), so a message alone says what
//! went wrong where: "write 104857600 to /sys/fs/cgroup/memory/mydocker/x/memory.limit_in_bytes:
//! Device or resource busy".

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while managing a cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Writing a value to a cgroup interface file failed.
    #[error("write {value} to {}: {}", path.display(), os_message(source))]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    /// Reading a cgroup interface file (or /proc/self/mountinfo) failed.
    #[error("read {}: {}", path.display(), os_message(source))]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Making a cgroup directory failed.
    #[error("create cgroup {}: {}", path.display(), os_message(source))]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Removing a cgroup directory failed (for a reason other than "still busy").
    #[error("remove cgroup {}: {}", path.display(), os_message(source))]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Moving a process into the cgroup failed.
    #[error("add process {pid} to {}: {}", path.display(), os_message(source))]
    AddTask {
        pid: i32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Killing a process left in the cgroup failed.
    #[error("kill process {pid} in {}: {}", path.display(), source.desc())]
    Kill {
        pid: i32,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// Opening the cgroup directory (for `clone3`) failed.
    #[error("open {}: {}", path.display(), source.desc())]
    Open {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// `statfs` on the cgroup mount point failed.
    #[error("statfs {}: {}", path.display(), source.desc())]
    Statfs {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// The cgroup mount point holds neither a cgroup2 nor a tmpfs of v1 hierarchies.
    #[error("{} is not a cgroup mount (filesystem magic {magic:#x})", path.display())]
    NotCgroupMount { path: PathBuf, magic: i64 },
    /// A limit this host cannot apply: the controller is missing, not delegated, or the
    /// kernel interface does not exist.
    #[error("cannot apply {limit}: {reason}")]
    Unsupported { limit: String, reason: String },
    /// cgroup v2 refused to enable controllers for the children of a cgroup that holds
    /// processes itself (its "no internal processes" rule, which spares only the root): the
    /// engine runs in such a cgroup, typically the root of a cgroup namespace.
    #[error(
        "cannot enable the {} controllers in {}: that cgroup has processes of its own ({}), \
         and cgroup v2 lets no cgroup but the root both hold processes and delegate \
         controllers; move them into a leaf cgroup (for example a new child named init)",
        controllers.join(", "),
        path.join("cgroup.subtree_control").display(),
        pid_list(pids)
    )]
    InternalProcesses {
        path: PathBuf,
        controllers: Vec<String>,
        pids: Vec<i32>,
    },
    /// A requested value is wrong before it reaches the kernel.
    #[error("invalid {what}: {reason}")]
    InvalidValue { what: String, reason: String },
    /// The cgroup still had processes (or child cgroups) after every retry of `rmdir`.
    #[error("remove cgroup {}: still busy after {waited_ms} ms (processes left: {pids:?})", path.display())]
    Busy {
        path: PathBuf,
        waited_ms: u64,
        pids: Vec<i32>,
    },
    /// The freezer did not reach the wanted state in time.
    #[error("freeze {}: still {state:?} after {waited_ms} ms", path.display())]
    FreezeTimeout {
        path: PathBuf,
        state: String,
        waited_ms: u64,
    },
    /// No cgroup v1 hierarchy of any controller we use is mounted.
    #[error("no cgroup v1 mount of the {controller} controller in {}", mountinfo.display())]
    NoMount {
        controller: String,
        mountinfo: PathBuf,
    },
    /// A file had content we could not understand.
    #[error("parse {}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
}

/// "pids 1, 2, 3", or "pids 1, 2, 3 and 7 more" for a long list.
fn pid_list(pids: &[i32]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<String> = pids.iter().take(SHOWN).map(i32::to_string).collect();
    let word = if pids.len() == 1 { "pid" } else { "pids" };
    match pids.len().checked_sub(SHOWN).filter(|&more| more > 0) {
        Some(more) => format!("{word} {} and {more} more", shown.join(", ")),
        None => format!("{word} {}", shown.join(", ")),
    }
}

/// The operating system's text for an I/O error ("Device or resource busy"), without Rust's
/// " (os error 16)" suffix; other errors print as they are.
fn os_message(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_error_reads_like_the_kernel_said_it() {
        let err = CgroupError::Write {
            path: "/sys/fs/cgroup/memory/mydocker/x/memory.limit_in_bytes".into(),
            value: "104857600".into(),
            source: io::Error::from_raw_os_error(libc::EBUSY),
        };
        assert_eq!(
            err.to_string(),
            "write 104857600 to /sys/fs/cgroup/memory/mydocker/x/memory.limit_in_bytes: \
             Device or resource busy"
        );
    }

    #[test]
    fn internal_processes_error_says_what_to_do() {
        let err = CgroupError::InternalProcesses {
            path: "/sys/fs/cgroup".into(),
            controllers: vec!["cpu".into(), "memory".into()],
            pids: vec![1, 2, 3, 4, 5, 6, 7],
        };
        assert_eq!(
            err.to_string(),
            "cannot enable the cpu, memory controllers in /sys/fs/cgroup/cgroup.subtree_control: \
             that cgroup has processes of its own (pids 1, 2, 3, 4, 5 and 2 more), and cgroup v2 \
             lets no cgroup but the root both hold processes and delegate controllers; move them \
             into a leaf cgroup (for example a new child named init)"
        );
        assert_eq!(pid_list(&[42]), "pid 42");
    }
}
