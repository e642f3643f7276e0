//! Publishing staged results into the store, all or nothing.
//!
//! Everything an operation produces (unpacked layers, blobs) is first staged in its scratch
//! directory. [`Publish`] then moves it into place under the exclusive store lock, in an order
//! that never shows a partial image: layers and blobs first, the image record (which makes the
//! config blob an image) last, tags after that. If a step fails, what this publish created is
//! removed again when the [`Publish`] is dropped without [`Publish::commit`]. A process killed
//! half way can leave layers or blobs that no image uses; `gc` (run by `remove` and `prune`)
//! deletes them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{ImageError, Result};
use crate::layer::LayerRecord;
use crate::layout::{sync_dir, write_atomic, Layout};
use crate::links;
use crate::record::ImageRecord;

/// One publish, with undo: paths created so far are removed on drop unless committed.
pub struct Publish<'a> {
    layout: &'a Layout,
    created: Vec<PathBuf>,
}

impl<'a> Publish<'a> {
    /// Starts a publish of what was staged in `scratch`; makes the staged files durable first
    /// so nothing becomes visible before its content is on disk.
    pub fn begin(layout: &'a Layout, scratch: &Path) -> Result<Publish<'a>> {
        let dir =
            fs::File::open(scratch).map_err(|e| ImageError::io("opening scratch", scratch, e))?;
        nix::unistd::syncfs(&dir)
            .map_err(|e| ImageError::io("syncing scratch", scratch, e.into()))?;
        Ok(Publish {
            layout,
            created: Vec::new(),
        })
    }

    /// Moves the staged layer directory (holding `diff/`) to `layers/<chain hex>` unless that
    /// layer is already there, and creates its short link. Returns true when it was moved.
    pub fn layer(&mut self, staged: &Path, chain_hex: &str, record: &LayerRecord) -> Result<bool> {
        let target = self.layout.layer_dir(chain_hex);
        if target.exists() {
            tracing::debug!(chain_hex, "reusing existing layer");
            links::ensure_link(self.layout, chain_hex)?;
            return Ok(false);
        }
        record.write(staged)?;
        fs::rename(staged, &target).map_err(|e| ImageError::io("publishing layer", &target, e))?;
        self.created.push(target);
        let link = links::ensure_link(self.layout, chain_hex)?;
        self.created.push(link);
        sync_dir(&self.layout.layers_dir())?;
        Ok(true)
    }

    /// Moves a staged blob file to `blobs/sha256/<hex>` unless it is already there.
    pub fn blob_file(&mut self, staged: &Path, hex: &str) -> Result<()> {
        let target = self.layout.blob(hex);
        if target.exists() {
            return Ok(());
        }
        fs::rename(staged, &target).map_err(|e| ImageError::io("publishing blob", &target, e))?;
        self.created.push(target);
        Ok(())
    }

    /// Writes a small blob (config, manifest) unless it is already there.
    pub fn blob_bytes(&mut self, hex: &str, data: &[u8]) -> Result<()> {
        let target = self.layout.blob(hex);
        if target.exists() {
            return Ok(());
        }
        write_atomic(&target, data)?;
        self.created.push(target);
        Ok(())
    }

    /// Writes the image record, which makes the config blob `hex` an image. An existing
    /// record is kept, but gains a manifest if it had none.
    pub fn image(&mut self, hex: &str, record: &ImageRecord) -> Result<()> {
        let path = self.layout.image_record(hex);
        if path.exists() {
            let existing = ImageRecord::read(self.layout, hex)?;
            if existing.manifest.is_none() && record.manifest.is_some() {
                record.write(self.layout, hex)?;
            }
            return Ok(());
        }
        record.write(self.layout, hex)?;
        self.created.push(path);
        Ok(())
    }

    /// Keeps everything published.
    pub fn commit(mut self) {
        self.created.clear();
        let _ = sync_dir(&self.layout.blobs_dir());
    }
}

impl Drop for Publish<'_> {
    fn drop(&mut self) {
        for path in self.created.iter().rev() {
            let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
            let _ = if is_dir {
                fs::remove_dir_all(path)
            } else {
                fs::remove_file(path)
            };
        }
    }
}
