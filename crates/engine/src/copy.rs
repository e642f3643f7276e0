//! Copying files between the host and a container (`mydocker cp`), and seeding volumes.
//!
//! Paths inside the container are resolved with the container's rootfs as `/`
//! (`secure_join`), one path at a time, so a symlink in the container — even one that
//! points at `/etc` — can never make us read or write the host outside the rootfs. Walks
//! never follow symlinks: they are copied as symlinks. Modes, owners and times are kept.

use crate::error::{io_err, EngineError, Result};
use crate::layout::ContainerPaths;
use crate::{overlay, Engine};
use mydocker_runtime::securejoin::secure_join;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Copies `src` (a file, dir or symlink) to `dst`, where `resolve` maps each destination
/// path to the real path to write (identity on the host, `secure_join` in a container).
fn copy_entry(src: &Path, dst: &Path, resolve: &dyn Fn(&Path) -> Result<PathBuf>) -> Result<()> {
    let meta = std::fs::symlink_metadata(src).map_err(io_err("stat", src))?;
    let real = resolve(dst)?;
    let ft = meta.file_type();
    if ft.is_dir() {
        if !real.is_dir() {
            std::fs::create_dir(&real).map_err(io_err("create directory", &real))?;
        }
        for entry in std::fs::read_dir(src).map_err(io_err("read", src))? {
            let entry = entry.map_err(io_err("read", src))?;
            copy_entry(&entry.path(), &dst.join(entry.file_name()), resolve)?;
        }
    } else if ft.is_symlink() {
        let target = std::fs::read_link(src).map_err(io_err("read link", src))?;
        let _ = std::fs::remove_file(&real);
        std::os::unix::fs::symlink(&target, &real).map_err(io_err("create symlink", &real))?;
    } else if ft.is_file() {
        // A symlink at the destination is replaced, never written through.
        if std::fs::symlink_metadata(&real).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(&real).map_err(io_err("replace", &real))?;
        }
        std::fs::copy(src, &real).map_err(io_err("copy to", &real))?;
    } else {
        return Ok(()); // devices, fifos, sockets: not copied
    }
    let _ = std::os::unix::fs::lchown(&real, Some(meta.uid()), Some(meta.gid()));
    if !ft.is_symlink() {
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(io_err("chmod", &real))?;
    }
    Ok(())
}

/// Copies the contents of directory `src` into existing directory `dst` (host paths).
pub(crate) fn copy_tree_contents(src: &Path, dst: &Path) -> Result<()> {
    let identity = |p: &Path| Ok(p.to_path_buf());
    for entry in std::fs::read_dir(src).map_err(io_err("read", src))? {
        let entry = entry.map_err(io_err("read", src))?;
        copy_entry(&entry.path(), &dst.join(entry.file_name()), &identity)?;
    }
    let meta = std::fs::metadata(src).map_err(io_err("stat", src))?;
    let _ = std::os::unix::fs::chown(dst, Some(meta.uid()), Some(meta.gid()));
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(io_err("chmod", dst))
}

/// One side of `cp`: a host path, or a path in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpPath {
    Host(PathBuf),
    Container { container: String, path: String },
}

impl CpPath {
    /// `NAME:/path` is a container path; anything else (including `./a:b`) is the host's.
    pub fn parse(s: &str) -> CpPath {
        match s.split_once(':') {
            Some((c, p)) if !c.is_empty() && !c.contains('/') => CpPath::Container {
                container: c.to_string(),
                path: p.to_string(),
            },
            _ => CpPath::Host(s.into()),
        }
    }
}

/// Where `src` lands for a destination `dst` (Docker's rules): into `dst` when it is an
/// existing directory, else as `dst` itself.
fn landing(
    src_name: &std::ffi::OsStr,
    dst: &Path,
    dst_is_dir: bool,
    src_contents_only: bool,
) -> PathBuf {
    if dst_is_dir && !src_contents_only {
        dst.join(src_name)
    } else {
        dst.to_path_buf()
    }
}

impl Engine {
    /// `mydocker cp`: one side must be a container; it may be stopped.
    pub fn copy(&self, src: &CpPath, dst: &CpPath) -> Result<()> {
        match (src, dst) {
            (CpPath::Container { container, path }, CpPath::Host(host)) => {
                self.with_rootfs(container, |rootfs| {
                    let from =
                        secure_join(rootfs, Path::new(path)).map_err(io_err("resolve", path))?;
                    if std::fs::symlink_metadata(&from).is_err() {
                        return Err(EngineError::InvalidArgument(format!(
                            "Could not find the file {path} in container {container}"
                        )));
                    }
                    let name = from.file_name().unwrap_or_default().to_os_string();
                    let to = landing(&name, host, host.is_dir(), path.ends_with("/."));
                    if from.is_dir() && to.exists() && path.ends_with("/.") {
                        return copy_tree_contents(&from, &to);
                    }
                    copy_entry(&from, &to, &|p| Ok(p.to_path_buf()))
                })
            }
            (CpPath::Host(host), CpPath::Container { container, path }) => {
                if std::fs::symlink_metadata(host).is_err() {
                    return Err(EngineError::InvalidArgument(format!(
                        "lstat {}: no such file or directory",
                        host.display()
                    )));
                }
                self.with_rootfs(container, |rootfs| {
                    let resolve = |p: &Path| secure_join(rootfs, p).map_err(io_err("resolve", p));
                    let target = resolve(Path::new(path))?;
                    let name = host.file_name().unwrap_or_default().to_os_string();
                    let contents_only = host.to_string_lossy().ends_with("/.");
                    let dst = landing(&name, Path::new(path), target.is_dir(), contents_only);
                    if contents_only && target.is_dir() {
                        for entry in std::fs::read_dir(host).map_err(io_err("read", host))? {
                            let entry = entry.map_err(io_err("read", host))?;
                            copy_entry(&entry.path(), &dst.join(entry.file_name()), &resolve)?;
                        }
                        return Ok(());
                    }
                    if !resolve(dst.parent().unwrap_or(Path::new("/")))?.is_dir() {
                        return Err(EngineError::InvalidArgument(format!(
                            "Could not find the file {path} in container {container}"
                        )));
                    }
                    copy_entry(host, &dst, &resolve)
                })
            }
            _ => Err(EngineError::InvalidArgument(
                "copying between containers is not supported; one side must be a local path".into(),
            )),
        }
    }

    /// Runs `f` with the container's merged rootfs mounted (a stopped container's rootfs
    /// is mounted for the time of `f` only).
    pub(crate) fn with_rootfs<T>(
        &self,
        name_or_id: &str,
        f: impl FnOnce(&Path) -> Result<T>,
    ) -> Result<T> {
        let rec = self.find_container(name_or_id)?;
        let paths = ContainerPaths::new(&self.layout.container_dir(&rec.id));
        let _lock = crate::record::lock(&paths.dir)?;
        let mounted = is_mount_point(&paths.rootfs());
        if !mounted {
            overlay::mount_rootfs(&paths, &rec.layers, || self.short_layers(&rec.image_id))?;
        }
        let out = f(&paths.rootfs());
        if !mounted {
            overlay::unmount_rootfs(&paths)?;
        }
        out
    }
}

fn is_mount_point(path: &Path) -> bool {
    let (Ok(a), Some(Ok(b))) = (
        std::fs::metadata(path),
        path.parent().map(std::fs::metadata),
    ) else {
        return false;
    };
    a.dev() != b.dev()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_paths_parse_like_docker() {
        assert_eq!(
            CpPath::parse("web:/etc/hosts"),
            CpPath::Container {
                container: "web".into(),
                path: "/etc/hosts".into()
            }
        );
        assert_eq!(CpPath::parse("./a:b"), CpPath::Host("./a:b".into()));
        assert_eq!(CpPath::parse("/tmp/x"), CpPath::Host("/tmp/x".into()));
    }

    #[test]
    fn writes_into_a_rootfs_never_follow_its_symlinks_out() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("evil")).unwrap();
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), "x").unwrap();
        let resolve = |p: &Path| Ok(secure_join(root.path(), p).unwrap());
        let _ = copy_entry(&src.path().join("f"), Path::new("/evil/f"), &resolve);
        assert!(!outside.path().join("f").exists());
    }
}
