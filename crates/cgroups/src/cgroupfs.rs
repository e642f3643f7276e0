//! Reading and writing cgroup interface files, shared by [`crate::v1`] and [`crate::v2`].
//!
//! A cgroup is a directory in a special filesystem; its knobs are small text files
//! (`memory.max`, `cgroup.procs`, …) written with one `write(2)` each. Every write in this
//! crate goes through [`write`], so every failure names the file and the value. Removing a
//! cgroup is `rmdir(2)` of its directory, which the kernel refuses with `EBUSY` while a
//! process (even one being killed) is still in it: [`remove_dir`] kills and retries.

use crate::{CgroupError, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fmt::Display;
use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

/// How often [`remove_dir`] retries `rmdir` on `EBUSY` (and [`wait_for`] polls): waits of
/// 1, 2, 4 … 512 ms, about 1 s in all.
const REMOVE_RETRIES: u32 = 10;

/// Writes `value` to `dir/file` in one `write(2)`. The file must exist: cgroupfs files are
/// made by the kernel, never by us.
pub(crate) fn write(dir: &Path, file: &str, value: impl Display) -> Result<()> {
    let path = dir.join(file);
    let value = value.to_string();
    write_raw(&path, &value).map_err(|source| CgroupError::Write {
        path,
        value,
        source,
    })
}

fn write_raw(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// The content of `dir/file`, without the trailing newline.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(s.trim_end().to_string()),
        Err(source) => Err(CgroupError::Read { path, source }),
    }
}

/// Like [`read`], but a missing file is `None`.
pub(crate) fn read_optional(dir: &Path, file: &str) -> Result<Option<String>> {
    match read(dir, file) {
        Ok(s) => Ok(Some(s)),
        Err(CgroupError::Read { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The pids in `dir/cgroup.procs`; a missing directory has none.
pub(crate) fn read_pids(dir: &Path) -> Result<Vec<i32>> {
    let Some(text) = read_optional(dir, "cgroup.procs")? else {
        return Ok(Vec::new());
    };
    text.lines()
        .map(|line| {
            line.trim().parse().map_err(|_| CgroupError::Parse {
                path: dir.join("cgroup.procs"),
                reason: format!("{line:?} is not a pid"),
            })
        })
        .collect()
}

/// Writes `pid` to `dir/cgroup.procs`, which moves the process and all its threads.
pub(crate) fn add_task(dir: &Path, pid: i32) -> Result<()> {
    let path = dir.join("cgroup.procs");
    write_raw(&path, &pid.to_string()).map_err(|source| CgroupError::AddTask { pid, path, source })
}

/// Creates one cgroup directory; `Ok(true)` if it was made now, `Ok(false)` if it existed.
pub(crate) fn make_dir(path: &Path) -> Result<bool> {
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(CgroupError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Sends SIGKILL to every process in `dir`. A process that is already gone is fine.
pub(crate) fn kill_all(dir: &Path) -> Result<Vec<i32>> {
    let pids = read_pids(dir)?;
    for &pid in &pids {
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(source) => {
                return Err(CgroupError::Kill {
                    pid,
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(pids)
}

/// Removes the cgroup `dir` and any child cgroups the container made inside it (deepest
/// first). `before_each_try` runs before every `rmdir` of `dir` (it kills what is left);
/// `EBUSY` is retried with growing sleeps for about a second. A missing `dir` is success.
pub(crate) fn remove_dir(dir: &Path, before_each_try: &dyn Fn(&Path) -> Result<()>) -> Result<()> {
    for child in child_dirs(dir)? {
        remove_dir(&child, before_each_try)?;
    }
    let mut wait = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    for attempt in 0..=REMOVE_RETRIES {
        before_each_try(dir)?;
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < REMOVE_RETRIES => {
                sleep(wait);
                waited += wait;
                wait *= 2;
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => break,
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
    Err(CgroupError::Busy {
        path: dir.to_path_buf(),
        waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        pids: read_pids(dir).unwrap_or_default(),
    })
}

/// The sub-directories of `dir` (child cgroups); none if `dir` is missing.
fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Polls `dir/file` with growing sleeps for about a second until `done` holds for its
/// content; `Ok(Err(last content))` if it never did.
pub(crate) fn wait_for(
    dir: &Path,
    file: &str,
    done: impl Fn(&str) -> bool,
) -> Result<std::result::Result<(), (String, u64)>> {
    let mut wait = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    for attempt in 0..=REMOVE_RETRIES {
        let content = read(dir, file)?;
        if done(&content) {
            return Ok(Ok(()));
        }
        if attempt == REMOVE_RETRIES {
            let ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
            return Ok(Err((content, ms)));
        }
        sleep(wait);
        waited += wait;
        wait *= 2;
    }
    Ok(Ok(()))
}

/// Joins an OCI `cgroupsPath` (`/mydocker/<id>`, taken relative to the hierarchy root) to
/// `root`. Refuses paths that would name the root itself or climb out of it: destroying
/// such a cgroup would kill every process on the host.
pub(crate) fn join_cgroups_path(root: &Path, cgroups_path: &str) -> Result<PathBuf> {
    let invalid = |reason: &str| CgroupError::InvalidValue {
        what: format!("cgroups path {cgroups_path:?}"),
        reason: reason.to_string(),
    };
    let mut path = root.to_path_buf();
    let mut depth = 0;
    for part in cgroups_path.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err(invalid("it may not contain \".\" or \"..\""));
        }
        path.push(part);
        depth += 1;
    }
    if depth == 0 {
        return Err(invalid("it names the root cgroup"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_path_is_taken_below_the_root() {
        let root = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(
            join_cgroups_path(root, "/mydocker/abc").unwrap(),
            Path::new("/sys/fs/cgroup/memory/mydocker/abc")
        );
        assert_eq!(
            join_cgroups_path(root, "mydocker//abc/").unwrap(),
            Path::new("/sys/fs/cgroup/memory/mydocker/abc")
        );
        for bad in ["/", "", "/mydocker/../..", "./x"] {
            assert!(join_cgroups_path(root, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn write_needs_an_existing_file_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), "pids.max", 5).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "write 5 to {}/pids.max: No such file or directory",
                dir.path().display()
            )
        );
        fs::write(dir.path().join("pids.max"), "max\n").unwrap();
        write(dir.path(), "pids.max", 5).unwrap();
        assert_eq!(read(dir.path(), "pids.max").unwrap(), "5");
    }

    #[test]
    fn removing_a_missing_cgroup_is_success() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        remove_dir(&gone, &|_| Ok(())).unwrap();
        fs::create_dir_all(gone.join("child")).unwrap();
        remove_dir(&gone, &|d| kill_all(d).map(drop)).unwrap();
        assert!(!gone.exists());
    }
}
