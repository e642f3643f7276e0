//! One mount of the spec, made below the container's rootfs.
//!
//! The spec gives each mount as (destination, type, source, options). Options are the
//! words of mount(8): some become mount flags, propagation words become a second
//! mount(2) call, and the rest are passed to the filesystem as data. Man page: mount(2).

use crate::error::{path_err, sys, Result};
use crate::securejoin::secure_join;
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;
use std::path::{Path, PathBuf};

/// A spec mount's options, sorted into what mount(2) wants.
#[derive(Debug, PartialEq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Flags to clear (`rw` after a default `ro`, ...), only used to build `flags`.
    pub propagation: MsFlags,
    pub data: Vec<String>,
}

impl MountOptions {
    pub fn parse(options: &[String]) -> Self {
        let mut out = MountOptions {
            flags: MsFlags::empty(),
            propagation: MsFlags::empty(),
            data: Vec::new(),
        };
        for opt in options {
            let (set, clear, prop) = match opt.as_str() {
                "ro" | "rdonly" => (MsFlags::MS_RDONLY, MsFlags::empty(), MsFlags::empty()),
                "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY, MsFlags::empty()),
                "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty(), MsFlags::empty()),
                "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID, MsFlags::empty()),
                "nodev" => (MsFlags::MS_NODEV, MsFlags::empty(), MsFlags::empty()),
                "dev" => (MsFlags::empty(), MsFlags::MS_NODEV, MsFlags::empty()),
                "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty(), MsFlags::empty()),
                "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC, MsFlags::empty()),
                "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty(), MsFlags::empty()),
                "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
                "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty(), MsFlags::empty()),
                "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty(), MsFlags::empty()),
                "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty(), MsFlags::empty()),
                "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK, MsFlags::empty()),
                "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME, MsFlags::empty()),
                "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty(), MsFlags::empty()),
                "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME, MsFlags::empty()),
                "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty(), MsFlags::empty()),
                "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty(), MsFlags::empty()),
                "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME, MsFlags::empty()),
                "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty(), MsFlags::empty()),
                "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME, MsFlags::empty()),
                "bind" => (MsFlags::MS_BIND, MsFlags::empty(), MsFlags::empty()),
                "rbind" => (
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    MsFlags::empty(),
                    MsFlags::empty(),
                ),
                "private" => (MsFlags::empty(), MsFlags::empty(), MsFlags::MS_PRIVATE),
                "rprivate" => (
                    MsFlags::empty(),
                    MsFlags::empty(),
                    MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                ),
                "shared" => (MsFlags::empty(), MsFlags::empty(), MsFlags::MS_SHARED),
                "rshared" => (
                    MsFlags::empty(),
                    MsFlags::empty(),
                    MsFlags::MS_SHARED | MsFlags::MS_REC,
                ),
                "slave" => (MsFlags::empty(), MsFlags::empty(), MsFlags::MS_SLAVE),
                "rslave" => (
                    MsFlags::empty(),
                    MsFlags::empty(),
                    MsFlags::MS_SLAVE | MsFlags::MS_REC,
                ),
                "unbindable" => (MsFlags::empty(), MsFlags::empty(), MsFlags::MS_UNBINDABLE),
                "runbindable" => (
                    MsFlags::empty(),
                    MsFlags::empty(),
                    MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
                ),
                data => {
                    out.data.push(data.to_string());
                    continue;
                }
            };
            out.flags.insert(set);
            out.flags.remove(clear);
            out.propagation.insert(prop);
        }
        out
    }

    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// The flags a bind mount's remount may carry: only the per-mount ones.
fn bind_remount_flags(flags: MsFlags) -> MsFlags {
    flags
        & (MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC
            | MsFlags::MS_NOATIME
            | MsFlags::MS_NODIRATIME
            | MsFlags::MS_RELATIME
            | MsFlags::MS_STRICTATIME)
}

/// Makes `m` below `rootfs`, creating its mount point (a file when a file is bound).
pub fn mount_in_rootfs(rootfs: &Path, m: &Mount) -> Result<PathBuf> {
    let target =
        secure_join(rootfs, m.destination()).map_err(path_err("resolve", m.destination()))?;
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("none");
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    let is_bind = opts.is_bind() || typ == "bind";

    let source_is_file = is_bind && source.metadata().map(|m| !m.is_dir()).unwrap_or(false);
    create_mount_point(&target, source_is_file)?;

    if is_bind {
        let rec = opts.flags & MsFlags::MS_REC;
        mount(
            Some(&source),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | rec,
            None::<&str>,
        )
        .map_err(sys(format!(
            "bind mount {} on {}",
            source.display(),
            m.destination().display()
        )))?;
        let extra = bind_remount_flags(opts.flags);
        if !extra.is_empty() {
            mount(
                None::<&str>,
                &target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra,
                None::<&str>,
            )
            .map_err(sys(format!("remount {}", m.destination().display())))?;
        }
    } else {
        let data = opts.data();
        mount(
            Some(&source),
            &target,
            Some(typ),
            opts.flags,
            data.as_deref(),
        )
        .map_err(sys(format!("mount {typ} on {}", m.destination().display())))?;
    }
    if !opts.propagation.is_empty() {
        mount(
            None::<&str>,
            &target,
            None::<&str>,
            opts.propagation,
            None::<&str>,
        )
        .map_err(sys(format!(
            "set propagation of {}",
            m.destination().display()
        )))?;
    }
    Ok(target)
}

pub fn create_mount_point(target: &Path, is_file: bool) -> Result<()> {
    if is_file {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(path_err("create directory", parent))?;
        }
        if !target.exists() {
            std::fs::File::create(target).map_err(path_err("create mount point", target))?;
        }
    } else {
        std::fs::create_dir_all(target).map_err(path_err("create mount point", target))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(words: &[&str]) -> MountOptions {
        MountOptions::parse(&words.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn words_become_flags_propagation_and_data() {
        let o = opts(&[
            "nosuid", "noexec", "nodev", "ro", "rprivate", "mode=755", "size=64k",
        ]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV | MsFlags::MS_RDONLY
        );
        assert_eq!(o.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        assert_eq!(o.data(), Some("mode=755,size=64k".to_string()));
    }

    #[test]
    fn later_words_override_earlier_ones() {
        assert_eq!(opts(&["ro", "rw"]).flags, MsFlags::empty());
        assert!(opts(&["rbind"]).is_bind());
        assert!(opts(&["rbind"]).flags.contains(MsFlags::MS_REC));
    }
}
