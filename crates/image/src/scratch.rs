//! Staging directories under `<root>/tmp/`, where imports unpack before anything is published.
//!
//! Each import owns one [`ScratchDir`], holds an exclusive `flock` on it while it works, and
//! removes it on drop. An import that was killed leaves its directory behind, unlocked;
//! [`remove_stale`] (run by `ImageStore::open`) deletes exactly those. Both creating a scratch
//! dir and sweeping stale ones happen under the exclusive store lock, so the sweep can never
//! see a directory that exists but is not yet locked by its owner.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::Flock;

use crate::error::{ImageError, Result};
use crate::lock::try_exclusive;

/// A locked staging directory, removed with everything in it when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    _lock: Flock<File>,
}

impl ScratchDir {
    /// Creates and locks a fresh directory in `tmp_root`. The caller holds the store lock.
    pub fn create(tmp_root: &Path) -> Result<ScratchDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = tmp_root.join(format!(
            "import-{}-{nanos:09}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)
            .map_err(|e| ImageError::io("creating scratch directory", &path, e))?;
        let locked = File::open(&path).map(try_exclusive);
        match locked {
            Ok(Some(lock)) => Ok(ScratchDir { path, _lock: lock }),
            Ok(None) => {
                let _ = fs::remove_dir(&path);
                Err(ImageError::io(
                    "locking scratch directory",
                    &path,
                    std::io::Error::from(std::io::ErrorKind::WouldBlock),
                ))
            }
            Err(e) => {
                let _ = fs::remove_dir(&path);
                Err(ImageError::io("opening scratch directory", &path, e))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: whatever is left is swept by the next `remove_stale`.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Removes entries of `tmp_root` that no live import has locked. The caller holds the store lock.
pub fn remove_stale(tmp_root: &Path) -> Result<()> {
    let entries =
        fs::read_dir(tmp_root).map_err(|e| ImageError::io("listing scratch area", tmp_root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ImageError::io("listing scratch area", tmp_root, e))?;
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            fs::remove_file(&path)
                .map_err(|e| ImageError::io("removing stale scratch file", &path, e))?;
            continue;
        }
        let Ok(dir) = File::open(&path) else { continue };
        // Hold the lock while removing so a concurrent sweep skips this entry.
        if let Some(_lock) = try_exclusive(dir) {
            fs::remove_dir_all(&path)
                .map_err(|e| ImageError::io("removing stale scratch directory", &path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_dirs_survive_and_stale_dirs_go() {
        let tmp = tempfile::tempdir().unwrap();
        let live = ScratchDir::create(tmp.path()).unwrap();
        let stale = tmp.path().join("import-dead");
        fs::create_dir_all(stale.join("layer/diff")).unwrap();
        remove_stale(tmp.path()).unwrap();
        assert!(live.path().exists());
        assert!(!stale.exists());
        let live_path = live.path().to_path_buf();
        drop(live);
        assert!(!live_path.exists());
    }
}
