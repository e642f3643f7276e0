//! The container's root filesystem: an overlayfs with the image's layers as read-only lower
//! directories and the container's own upper (writable) and work directories. Writes land
//! in the upper directory only, so two containers of one image never see each other's
//! files. Man page: the kernel's Documentation/filesystems/overlayfs.rst.

use crate::error::{io_err, sys_err, Result};
use crate::layout::ContainerPaths;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::PathBuf;

/// Mounts the overlay on `paths.rootfs()`. `layers` are the image's diff dirs, lowest first.
pub fn mount_rootfs(paths: &ContainerPaths, layers: &[PathBuf]) -> Result<()> {
    for dir in [paths.upper(), paths.work(), paths.rootfs()] {
        std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    }
    // overlayfs lists lower dirs top first.
    let lower = layers
        .iter()
        .rev()
        .map(|p| escape(&p.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(":");
    let data = format!(
        "lowerdir={lower},upperdir={},workdir={}",
        escape(&paths.upper().to_string_lossy()),
        escape(&paths.work().to_string_lossy())
    );
    tracing::debug!("mounting overlay rootfs at {}", paths.rootfs().display());
    mount(
        Some("overlay"),
        &paths.rootfs(),
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(sys_err(format!(
        "mount overlay rootfs on {}",
        paths.rootfs().display()
    )))
}

/// overlayfs separates its options with `,` and lower dirs with `:`; both must be escaped
/// inside a path.
fn escape(path: &str) -> String {
    path.replace('\\', "\\\\")
        .replace(':', "\\:")
        .replace(',', "\\,")
}

/// Unmounts the overlay; one that is not mounted is fine.
pub fn unmount_rootfs(paths: &ContainerPaths) -> Result<()> {
    let target = paths.rootfs();
    match umount2(&target, MntFlags::empty()) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => Ok(()),
        // Still busy (a process holds a file in it): detach now, the kernel frees it later.
        Err(nix::Error::EBUSY) => umount2(&target, MntFlags::MNT_DETACH)
            .map_err(sys_err(format!("unmount {}", target.display()))),
        Err(e) => Err(sys_err(format!("unmount {}", target.display()))(e)),
    }
}
