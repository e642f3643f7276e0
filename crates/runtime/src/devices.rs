//! The device nodes of the container's `/dev`.
//!
//! `/dev` is a fresh tmpfs, so it holds only what we put there: the nodes every program
//! expects (null, zero, full, random, urandom, tty), the spec's own devices, and the
//! standard symlinks. Which devices the container may *open* is a separate matter, decided
//! by the devices cgroup. Man page: mknod(2).

use crate::error::{path_err, sys, Result};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chown, Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::os::unix::fs::symlink;
use std::path::Path;

/// A device node to create: (path below /dev, char major, minor).
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const DEFAULT_SYMLINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
];

/// Fills `<rootfs>/dev` with the default nodes, the spec's devices and the symlinks.
pub fn populate_dev(rootfs: &Path, spec_devices: &[LinuxDevice]) -> Result<()> {
    let dev = rootfs.join("dev");
    for (name, major, minor) in DEFAULT_DEVICES {
        make_node(&dev.join(name), SFlag::S_IFCHR, major, minor, 0o666, 0, 0)?;
    }
    for d in spec_devices {
        let rel = d.path().strip_prefix("/").unwrap_or(d.path());
        let path = crate::securejoin::secure_join(rootfs, rel)
            .map_err(path_err("resolve device", d.path()))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(path_err("create directory", parent))?;
        }
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        make_node(
            &path,
            kind,
            d.major() as u64,
            d.minor() as u64,
            d.file_mode().unwrap_or(0o666),
            d.uid().unwrap_or(0),
            d.gid().unwrap_or(0),
        )?;
    }
    for (target, name) in DEFAULT_SYMLINKS {
        let link = dev.join(name);
        match symlink(target, &link) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(path_err("create symlink", link)(e))
            }
            _ => {}
        }
    }
    if Path::new("/proc/kcore").exists() {
        let _ = symlink("/proc/kcore", dev.join("core"));
    }
    Ok(())
}

fn make_node(
    path: &Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<()> {
    let _ = std::fs::remove_file(path);
    match mknod(
        path,
        kind,
        Mode::from_bits_truncate(mode),
        makedev(major, minor),
    ) {
        Ok(()) => {}
        // Without the right to make nodes (a user namespace), borrow the host's node.
        Err(nix::Error::EPERM) => {
            let host = Path::new("/dev").join(path.file_name().unwrap_or_default());
            std::fs::File::create(path).map_err(path_err("create", path))?;
            return mount(
                Some(&host),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(sys(format!("bind device {}", host.display())));
        }
        Err(e) => return Err(sys(format!("mknod {}", path.display()))(e)),
    }
    // mknod is subject to the umask; set the mode the spec asked for.
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        Mode::from_bits_truncate(mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(sys(format!("chmod {}", path.display())))?;
    chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .map_err(sys(format!("chown {}", path.display())))
}
