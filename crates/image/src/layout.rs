//! Where things live under the store root, and how files there are written.
//!
//! ```text
//! <root>/blobs/sha256/<hex>          content-addressed blobs: configs, manifests, layer blobs
//! <root>/images/sha256/<hex>         one record per image; names which blobs are image configs
//! <root>/layers/<chain hex>/diff/    unpacked layer, an overlayfs lower dir
//! <root>/layers/<chain hex>/layer.json
//! <root>/l/<16 hex>                  -> ../layers/<chain hex>/diff, short overlayfs lower dirs
//! <root>/repositories.json           "name:tag" -> image id
//! <root>/lock                        flock taken for every read (shared) and mutation (exclusive)
//! <root>/tmp/                        staging area, entries renamed into place when complete
//! ```
//!
//! Small files are replaced atomically: write a temp file in the same directory, fsync it,
//! rename it over the target, fsync the directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{ImageError, Result};

/// Paths of the store, computed from its root.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    pub fn blob(&self, hex: &str) -> PathBuf {
        self.blobs_dir().join(hex)
    }

    pub fn images_dir(&self) -> PathBuf {
        self.root.join("images").join("sha256")
    }

    pub fn image_record(&self, hex: &str) -> PathBuf {
        self.images_dir().join(hex)
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    pub fn layer_dir(&self, chain_hex: &str) -> PathBuf {
        self.layers_dir().join(chain_hex)
    }

    /// `l/`: short symlinks to layer diff dirs (see [`crate::links`]).
    pub fn links_dir(&self) -> PathBuf {
        self.root.join("l")
    }

    pub fn repositories(&self) -> PathBuf {
        self.root.join("repositories.json")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Creates every directory of the layout that is missing.
    pub fn create_dirs(&self) -> Result<()> {
        for dir in [
            self.blobs_dir(),
            self.images_dir(),
            self.layers_dir(),
            self.links_dir(),
            self.tmp_dir(),
        ] {
            fs::create_dir_all(&dir)
                .map_err(|e| ImageError::io("creating store directory", &dir, e))?;
        }
        Ok(())
    }
}

/// The directory of a layer: `diff/` and `layer.json`.
pub fn layer_diff(layer_dir: &Path) -> PathBuf {
    layer_dir.join("diff")
}

pub fn layer_json(layer_dir: &Path) -> PathBuf {
    layer_dir.join("layer.json")
}

/// Replaces `path` with `data` so that readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = File::create(&temp)
        .and_then(|mut file| {
            file.write_all(data)?;
            file.sync_all()
        })
        .map_err(|e| ImageError::io("writing temp file", &temp, e));
    if let Err(err) = written.and_then(|()| {
        fs::rename(&temp, path).map_err(|e| ImageError::io("renaming into place", path, e))
    }) {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    sync_dir(dir)
}

/// Makes a rename or create in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ImageError::io("syncing directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
