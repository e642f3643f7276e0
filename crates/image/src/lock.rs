//! The store lock: `flock(2)` on `<root>/lock` (<https://man7.org/linux/man-pages/man2/flock.2.html>).
//!
//! Readers take it shared and every mutation takes it exclusive, so concurrent `mydocker`
//! processes (and threads, since each acquisition opens its own file description) never see
//! or write a half-updated store. The lock is released when the guard drops.

use std::fs::{File, OpenOptions};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{ImageError, Result};

/// Holds the store lock until dropped.
#[derive(Debug)]
pub struct StoreLock {
    _flock: Flock<File>,
}

impl StoreLock {
    /// Blocks until no one else holds the lock.
    pub fn exclusive(path: &Path) -> Result<StoreLock> {
        Self::acquire(path, FlockArg::LockExclusive)
    }

    /// Blocks until no one holds the lock exclusively.
    pub fn shared(path: &Path) -> Result<StoreLock> {
        Self::acquire(path, FlockArg::LockShared)
    }

    fn acquire(path: &Path, arg: FlockArg) -> Result<StoreLock> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| ImageError::io("opening store lock", path, e))?;
        loop {
            match Flock::lock(file, arg) {
                Ok(flock) => return Ok(StoreLock { _flock: flock }),
                Err((returned, Errno::EINTR)) => file = returned,
                Err((_, source)) => {
                    return Err(ImageError::Lock {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
    }
}

/// Takes an exclusive lock on `file` without waiting; `None` when someone else holds it.
pub fn try_exclusive(file: File) -> Option<Flock<File>> {
    Flock::lock(file, FlockArg::LockExclusiveNonblock).ok()
}
