//! The container's root filesystem: from the host's mount table to a private `/`.
//!
//! The steps, in order (each one a function below):
//! 1. make every mount in our new mount namespace private, so nothing we do propagates
//!    back to the host (the book's `pivot_root: invalid argument` on systemd hosts);
//! 2. bind the rootfs onto itself, because pivot_root needs a mount point;
//! 3. make the spec's mounts below it (proc, sysfs, /dev, devpts, shm, mqueue, cgroup, binds);
//! 4. fill `/dev` with device nodes and symlinks;
//! 5. pivot_root into it and detach the old root, so no host path stays reachable;
//! 6. hide (masked paths) or freeze (read-only paths) what the kernel exposes in /proc and /sys.
//!
//! Man pages: mount_namespaces(7), pivot_root(2).

use crate::error::{path_err, sys, Result};
use crate::{devices, mounts};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, fchdir, pivot_root};
use oci_spec::runtime::{Mount, Spec};
use std::path::{Path, PathBuf};

/// Steps 1 to 5: after this, `/` is the container's rootfs.
pub fn prepare(spec: &Spec, rootfs: &Path) -> Result<()> {
    let linux = spec.linux().clone().unwrap_or_default();
    let propagation = match linux.rootfs_propagation().as_deref() {
        Some("shared") => MsFlags::MS_SHARED,
        Some("slave") => MsFlags::MS_SLAVE,
        Some("unbindable") => MsFlags::MS_UNBINDABLE,
        _ => MsFlags::MS_PRIVATE,
    };
    tracing::debug!("making / {propagation:?} in the container's mount namespace");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | propagation,
        None::<&str>,
    )
    .map_err(sys("make / private"))?;

    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys(format!("bind rootfs {}", rootfs.display())))?;

    let mut dev_is_fresh = false;
    for m in spec.mounts().as_deref().unwrap_or_default() {
        tracing::debug!(
            "mounting {} ({})",
            m.destination().display(),
            m.typ().as_deref().unwrap_or("bind")
        );
        if m.typ().as_deref() == Some("cgroup") {
            mount_cgroupfs(rootfs, m)?;
            continue;
        }
        mounts::mount_in_rootfs(rootfs, m)?;
        if m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("tmpfs") {
            dev_is_fresh = true;
        }
    }
    if dev_is_fresh {
        tracing::debug!("creating device nodes in /dev");
        devices::populate_dev(rootfs, linux.devices().as_deref().unwrap_or_default())?;
    }
    pivot_into(rootfs)
}

/// Step 5: the old root is stacked under the new one by `pivot_root(".", ".")`, then
/// detached, so the container cannot reach the host's filesystem through it.
fn pivot_into(rootfs: &Path) -> Result<()> {
    tracing::debug!("pivot_root into {}", rootfs.display());
    let new_root = open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys(format!("open rootfs {}", rootfs.display())))?;
    fchdir(&new_root).map_err(sys("chdir into rootfs"))?;
    pivot_root(".", ".").map_err(sys("pivot_root"))?;
    // The old root is now mounted on top of "/"; make sure unmounting it cannot propagate
    // to the host, then detach it.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys("make old root a slave"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys("detach old root"))?;
    chdir("/").map_err(sys("chdir /"))
}

/// Mounts cgroupfs for a container: with a cgroup namespace, each hierarchy mounted inside
/// shows the container's own cgroup as its root. On a v1 host that is a tmpfs holding one
/// mount per hierarchy, as the host has them; on v2 it is one cgroup2 mount.
fn mount_cgroupfs(rootfs: &Path, m: &Mount) -> Result<()> {
    let opts = mounts::MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let target = crate::securejoin::secure_join(rootfs, m.destination())
        .map_err(path_err("resolve", m.destination()))?;
    mounts::create_mount_point(&target, false)?;
    let flags = opts.flags & !MsFlags::MS_RDONLY;
    let hierarchies = host_cgroup_hierarchies()?;
    if let Some(v2) = hierarchies
        .iter()
        .find(|h| h.fstype == "cgroup2" && h.is_root)
    {
        let _ = v2;
        return mount(
            Some("cgroup2"),
            &target,
            Some("cgroup2"),
            opts.flags,
            None::<&str>,
        )
        .map_err(sys("mount cgroup2"));
    }
    mount(
        Some("tmpfs"),
        &target,
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )
    .map_err(sys("mount tmpfs for cgroups"))?;
    for h in &hierarchies {
        let dir = target.join(&h.name);
        std::fs::create_dir_all(&dir).map_err(path_err("create", &dir))?;
        let data = (!h.options.is_empty()).then_some(h.options.as_str());
        mount(
            Some(h.fstype.as_str()),
            &dir,
            Some(h.fstype.as_str()),
            opts.flags,
            data,
        )
        .map_err(sys(format!("mount cgroup {}", h.name.display())))?;
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            &target,
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags,
            Some("mode=755"),
        )
        .map_err(sys("remount cgroup tmpfs read-only"))?;
    }
    Ok(())
}

/// A cgroup hierarchy as the host mounts it.
struct Hierarchy {
    /// Directory name below /sys/fs/cgroup (`memory`, `cpu,cpuacct`, `unified`, ...).
    name: PathBuf,
    fstype: String,
    /// Mount data that selects the hierarchy (`memory`, `name=systemd`).
    options: String,
    /// The mount is /sys/fs/cgroup itself (a pure v2 host).
    is_root: bool,
}

fn host_cgroup_hierarchies() -> Result<Vec<Hierarchy>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(path_err("read", "/proc/self/mountinfo"))?;
    let mut out = Vec::new();
    for line in info.lines() {
        // id parent maj:min root mountpoint options [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or_default();
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let superopts = r.nth(1).unwrap_or_default();
        let mountpoint = left.split(' ').nth(4).unwrap_or_default();
        let Ok(name) = Path::new(mountpoint).strip_prefix("/sys/fs/cgroup") else {
            continue;
        };
        let options = superopts
            .split(',')
            .filter(|o| *o != "rw" && *o != "ro")
            .filter(|o| fstype == "cgroup" || *o == "nsdelegate")
            .collect::<Vec<_>>()
            .join(",");
        out.push(Hierarchy {
            is_root: name.as_os_str().is_empty(),
            name: name.to_path_buf(),
            fstype: fstype.to_string(),
            options,
        });
    }
    Ok(out)
}

/// Step 6 (after pivot_root, paths are the container's): hide each masked path behind
/// /dev/null (files) or an empty read-only tmpfs (directories).
pub fn mask_paths(paths: &[String]) -> Result<()> {
    for p in paths {
        let path = Path::new(p);
        let Ok(meta) = std::fs::metadata(path) else {
            continue; // absent: nothing to hide
        };
        let res = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some("/dev/null"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        res.map_err(sys(format!("mask {p}")))?;
    }
    Ok(())
}

/// Step 6: make each read-only path a read-only bind mount of itself.
pub fn make_readonly_paths(paths: &[String]) -> Result<()> {
    for p in paths {
        let path = Path::new(p);
        if !path.exists() {
            continue;
        }
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(sys(format!("bind {p} read-only")))?;
        remount_readonly(path)?;
    }
    Ok(())
}

/// Remounts a bind mount read-only, keeping the flags it already has (the kernel refuses
/// to drop nosuid/nodev/noexec in a remount it did not set).
pub fn remount_readonly(path: &Path) -> Result<()> {
    let st =
        nix::sys::statvfs::statvfs(path).map_err(sys(format!("statvfs {}", path.display())))?;
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    use nix::sys::statvfs::FsFlags;
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if st.flags().contains(fs) {
            flags |= ms;
        }
    }
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .map_err(sys(format!("remount {} read-only", path.display())))
}
