//! Short, stable names for layer directories, so deep images fit in overlayfs mount options.
//!
//! The `lowerdir=` option of an overlayfs mount lists every layer, and the whole option string
//! must fit in one page (4096 bytes) of mount data. With absolute paths such as
//! `/var/lib/mydocker/image/layers/<64 hex>/diff` that is about 40 layers. Like Docker's
//! overlay2 driver, the store keeps one symlink per layer, `l/<16 hex>` ->
//! `../layers/<chain hex>/diff`, and the engine mounts with relative lower dirs from the store
//! root: `l/0123456789abcdef:l/...` is 19 bytes a layer, enough for more than 200 layers.
//!
//! The short id is the first 16 hex digits of the chain id, so it never needs to be stored.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{ImageError, Result};
use crate::layout::Layout;

/// Length of a short layer id.
const SHORT_LEN: usize = 16;

/// The link name of a layer: `l/<short id>`, relative to the store root.
pub fn link_name(chain_hex: &str) -> String {
    format!("l/{}", &chain_hex[..SHORT_LEN.min(chain_hex.len())])
}

/// What the link points at, relative to `l/`.
fn link_target(chain_hex: &str) -> PathBuf {
    Path::new("..").join("layers").join(chain_hex).join("diff")
}

/// Creates (or repairs) the link of a published layer; returns its path.
pub fn ensure_link(layout: &Layout, chain_hex: &str) -> Result<PathBuf> {
    let path = layout.root().join(link_name(chain_hex));
    let target = link_target(chain_hex);
    match fs::read_link(&path) {
        Ok(existing) if existing == target => return Ok(path),
        Ok(_) => {
            // Two chain ids sharing 64 bits: not expected, but never point a link elsewhere.
            return Err(ImageError::io(
                "creating layer link",
                &path,
                std::io::Error::new(
                    ErrorKind::AlreadyExists,
                    "short id already used by another layer",
                ),
            ));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(ImageError::io("reading layer link", &path, e)),
    }
    let temp = layout
        .links_dir()
        .join(format!(".{chain_hex}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&temp);
    std::os::unix::fs::symlink(&target, &temp)
        .and_then(|()| fs::rename(&temp, &path))
        .map_err(|e| {
            let _ = fs::remove_file(&temp);
            ImageError::io("creating layer link", &path, e)
        })?;
    Ok(path)
}

/// Removes the link of a layer; a missing link is fine.
pub fn remove_link(layout: &Layout, chain_hex: &str) -> Result<()> {
    let path = layout.root().join(link_name(chain_hex));
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ImageError::io("removing layer link", &path, e)),
    }
}
