//! Whiteouts: how a layer says "this file of a lower layer is gone".
//!
//! Two spellings exist and the store converts between them:
//!
//! | meaning                      | OCI layer tar (what archives carry) | overlayfs (what a diff dir holds)     |
//! |------------------------------|--------------------------------------|---------------------------------------|
//! | `dir/name` is deleted        | empty file `dir/.wh.name`            | char device 0/0 at `dir/name`         |
//! | `dir` hides all lower content| empty file `dir/.wh..wh..opq`        | xattr `trusted.overlay.opaque=y` on `dir` |
//!
//! See <https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts> and
//! <https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories>.
//! Unpacking (`unpack` module) writes the overlay form; packing a container's upper dir
//! (`commit` module) writes the OCI form.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::sys::stat::{makedev, mknodat, Mode, SFlag};

/// Prefix of an OCI whiteout entry.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// Name of the OCI opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The overlayfs xattr that makes a directory opaque (`userxattr` mounts use `user.`).
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const USER_OPAQUE_XATTR: &str = "user.overlay.opaque";

/// Creates the overlayfs whiteout for `name` in `dir`: a 0/0 character device.
pub fn make_overlay_whiteout(dir: &impl AsFd, name: &OsStr) -> io::Result<()> {
    mknodat(dir, name, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))?;
    Ok(())
}

/// True when `meta` is an overlayfs whiteout (a 0/0 character device).
pub fn is_overlay_whiteout(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Marks the directory open at `dir` opaque.
pub fn set_opaque(dir: &impl AsFd) -> io::Result<()> {
    let name = c_string(OPAQUE_XATTR)?;
    // SAFETY: the fd is open for the duration of the call; name and value point to valid
    // buffers of the lengths passed.
    let rc = unsafe {
        libc::fsetxattr(
            dir.as_fd().as_raw_fd(),
            name.as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// True when the directory at `path` carries an opaque xattr (`y`), trusted or user.
pub fn is_opaque(path: &Path) -> io::Result<bool> {
    for attr in [OPAQUE_XATTR, USER_OPAQUE_XATTR] {
        if get_xattr(path, attr)?.as_deref() == Some(b"y") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reads an xattr of `path` without following a final symlink; `None` when absent.
fn get_xattr(path: &Path, attr: &str) -> io::Result<Option<Vec<u8>>> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let name = c_string(attr)?;
    let mut buf = [0u8; 16];
    // SAFETY: path and name are NUL-terminated; buf is valid for buf.len() bytes.
    let rc = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if rc >= 0 {
        let len = usize::try_from(rc).unwrap_or(0);
        return Ok(Some(buf[..len].to_vec()));
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENODATA) | Some(libc::ENOTSUP) | Some(libc::ERANGE) => Ok(None),
        _ => Err(err),
    }
}

fn c_string(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteout_and_opaque_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let fd = std::fs::File::open(dir.path()).unwrap();
        make_overlay_whiteout(&fd, OsStr::new("gone")).unwrap();
        let meta = std::fs::symlink_metadata(dir.path().join("gone")).unwrap();
        assert!(is_overlay_whiteout(&meta));
        assert!(!is_opaque(dir.path()).unwrap());
        set_opaque(&fd).unwrap();
        assert!(is_opaque(dir.path()).unwrap());
    }
}
