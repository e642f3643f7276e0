//! Small file helpers: state files are written atomically (temp file, fsync, rename), so a
//! command killed half-way never leaves a torn file behind, and a crash of the machine
//! leaves either the old or the new file.

use crate::error::{io_err, Result};
use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    write_atomic_with(path, data, true)
}

/// Like [`write_atomic`]; `durable: false` skips the fsync, for state that does not
/// outlive a reboot anyway (a `--rm` container's), where a sync costs milliseconds
/// on the start path for nothing.
pub fn write_atomic_with(path: &Path, data: &[u8], durable: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
    f.write_all(data).map_err(io_err("write", &tmp))?;
    if durable {
        f.sync_all().map_err(io_err("fsync", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err("rename into place", path))?;
    Ok(())
}

/// Removes a directory tree; a tree that is already gone is fine.
pub fn remove_dir_all(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", path)(e)),
        _ => Ok(()),
    }
}
