//! Resolving a path inside the container's rootfs without ever leaving it.
//!
//! An image is untrusted: `/proc` in it may be a symlink to `/etc`, and a mount made on
//! `<rootfs>/proc` would then land on the host's `/etc`. [`secure_join`] resolves every
//! symlink as the container would see it, with the rootfs as `/`, so the result always
//! stays below the rootfs. The container is not running yet when we resolve, so nothing
//! can swap a path between our check and our use.

use std::path::{Component, Path, PathBuf};

/// Symlinks followed before giving up (the kernel's own limit is 40).
const MAX_SYMLINKS: usize = 255;

/// Joins `unsafe_path` to `root`, resolving symlinks as if `root` were `/`.
/// Components that do not exist are kept as they are (they can be created afterwards).
pub fn secure_join(root: &Path, unsafe_path: &Path) -> std::io::Result<PathBuf> {
    let mut pending: Vec<std::ffi::OsString> = components(unsafe_path);
    pending.reverse();
    let mut resolved = PathBuf::new(); // relative to root
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(&full)?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

fn components(path: &Path) -> Vec<std::ffi::OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        symlink("/etc", root.join("proc")).unwrap();
        symlink("../../../../tmp", root.join("up")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        assert_eq!(
            secure_join(root, Path::new("/proc")).unwrap(),
            root.join("etc")
        );
        assert_eq!(
            secure_join(root, Path::new("/up/x")).unwrap(),
            root.join("tmp/x")
        );
        assert_eq!(
            secure_join(root, Path::new("/../../a/./b")).unwrap(),
            root.join("a/b")
        );
        assert!(secure_join(root, Path::new("/loop")).is_err());
    }
}
