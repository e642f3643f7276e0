//! The container's root filesystem: an overlayfs with the image's layers as read-only lower
//! directories and the container's own upper (writable) and work directories. Writes land
//! in the upper directory only, so two containers of one image never see each other's
//! files. Man page: the kernel's Documentation/filesystems/overlayfs.rst.

use crate::error::{io_err, sys_err, Result};
use crate::layout::ContainerPaths;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::PathBuf;

/// The mount data must fit in one page; stay clear of the limit.
const MAX_MOUNT_DATA: usize = 4000;

/// Mounts the overlay on `paths.rootfs()`. `layers` are the image's diff dirs, lowest
/// first. When their absolute paths do not fit in the mount data (a deep image),
/// `short_layers` gives short relative names (`l/<id>`) and the directory they are relative
/// to; the mount is then made from inside that directory.
pub fn mount_rootfs(
    paths: &ContainerPaths,
    layers: &[PathBuf],
    short_layers: impl FnOnce() -> Result<(PathBuf, Vec<String>)>,
) -> Result<()> {
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
    let tail = format!(
        ",upperdir={},workdir={}",
        escape(&paths.upper().to_string_lossy()),
        escape(&paths.work().to_string_lossy())
    );
    tracing::debug!("mounting overlay rootfs at {}", paths.rootfs().display());
    let mount_with = |data: &str| {
        mount(
            Some("overlay"),
            &paths.rootfs(),
            Some("overlay"),
            MsFlags::empty(),
            Some(data),
        )
        .map_err(sys_err(format!(
            "mount overlay rootfs on {}",
            paths.rootfs().display()
        )))
    };
    let data = format!("lowerdir={lower}{tail}");
    if data.len() <= MAX_MOUNT_DATA {
        return mount_with(&data);
    }
    let (base, short) = short_layers()?;
    let data = format!("lowerdir={}{tail}", short.join(":"));
    if data.len() > MAX_MOUNT_DATA {
        return Err(crate::error::EngineError::InvalidArgument(format!(
            "the image has too many layers ({}) to mount",
            layers.len()
        )));
    }
    // Relative lower dirs are resolved against our working directory. The processes that
    // mount (monitor, CLI) are single-threaded, so changing it briefly is safe.
    nix::unistd::chdir(&base).map_err(sys_err(format!("chdir {}", base.display())))?;
    let mounted = mount_with(&data);
    let _ = nix::unistd::chdir("/");
    mounted
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
