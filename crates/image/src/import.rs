//! `mydocker import`: turn a tar, tar.gz or directory into a single-layer image
//! (<https://docs.docker.com/reference/cli/docker/image/import/>).
//!
//! The steps, in order:
//! 1. validate the reference and the `--change` instructions (nothing touched yet);
//! 2. stage: unpack the source into a locked scratch dir under `<root>/tmp/`, hashing the tar
//!    to get the diff id (a directory source is first packed into a tar there);
//! 3. build the image config and its id;
//! 4. publish, under the exclusive store lock: move the layer into `layers/` (or reuse an
//!    identical one), write the config blob and the image record, move the tag.
//!
//! A failure in step 2 leaves nothing behind; a failure in step 4 undoes what step 4 created.

use std::fs;
use std::path::{Path, PathBuf};

use crate::archive::{pack_directory, unpack_layer, ArchiveError, Unpacked};
use crate::change::parse_changes;
use crate::config::{encode, import_config, ImportConfig};
use crate::digest::{chain_ids, hex_part, sha256_digest};
use crate::error::{ImageError, Result};
use crate::layer::LayerRecord;
use crate::layout::{layer_diff, sync_dir, write_atomic, Layout};
use crate::lock::StoreLock;
use crate::reference::Reference;
use crate::repositories::Repositories;
use crate::scratch::ScratchDir;
use crate::timestamp::now_rfc3339;

/// What `import` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    pub source: &'a Path,
    pub reference: Option<&'a str>,
    pub changes: &'a [String],
    pub message: Option<&'a str>,
}

/// Runs the import and returns the new image id.
pub fn import(layout: &Layout, request: &ImportRequest<'_>) -> Result<String> {
    let reference = request.reference.map(Reference::parse).transpose()?;
    let changes = parse_changes(request.changes)?;
    tracing::debug!(source = %request.source.display(), "staging import");

    let scratch = {
        let _lock = StoreLock::exclusive(&layout.lock_file())?;
        ScratchDir::create(&layout.tmp_dir())?
    };
    let staged_layer = scratch.path().join("layer");
    let unpacked = stage(request.source, scratch.path(), &staged_layer).map_err(|reason| {
        ImageError::Import {
            source_path: request.source.to_path_buf(),
            reason,
        }
    })?;

    let created = now_rfc3339();
    let config = import_config(&ImportConfig {
        diff_id: &unpacked.diff_id,
        changes: &changes,
        message: request.message,
        created: &created,
    });
    let blob =
        encode(&config).map_err(|e| ImageError::json("encoding image config", layout.root(), e))?;
    let id = sha256_digest(&blob);

    tracing::debug!(%id, diff_id = %unpacked.diff_id, "publishing image");
    let _lock = StoreLock::exclusive(&layout.lock_file())?;
    let mut publish = Publish::new();
    publish.layer(layout, &staged_layer, &unpacked)?;
    publish.config_blob(layout, &id, &blob)?;
    if let Some(reference) = reference {
        let mut repositories = Repositories::load(layout)?;
        repositories.set(reference.to_string(), id.clone());
        repositories.save(layout)?;
    }
    publish.commit();
    Ok(id)
}

/// Step 2: unpack the source (packing it first if it is a directory) into `layer_dir/diff`.
fn stage(source: &Path, scratch: &Path, layer_dir: &Path) -> Result<Unpacked, ArchiveError> {
    let meta = fs::metadata(source).map_err(ArchiveError::Open)?;
    let tar_path = if meta.is_dir() {
        let tar_path = scratch.join("layer.tar");
        pack_directory(source, &tar_path)?;
        tar_path
    } else {
        source.to_path_buf()
    };
    unpack_layer(&tar_path, &layer_diff(layer_dir))
}

/// Step 4, with undo: paths created so far are removed on drop unless committed.
struct Publish {
    created: Vec<PathBuf>,
}

impl Publish {
    fn new() -> Publish {
        Publish {
            created: Vec::new(),
        }
    }

    /// Moves the staged layer into `layers/<chain>` unless that layer is already there.
    fn layer(&mut self, layout: &Layout, staged: &Path, unpacked: &Unpacked) -> Result<()> {
        let chain = chain_ids(std::slice::from_ref(&unpacked.diff_id));
        let chain_id = chain.last().unwrap_or(&unpacked.diff_id);
        let target = layout.layer_dir(hex_part(chain_id));
        if target.exists() {
            tracing::debug!(%chain_id, "reusing existing layer");
            return Ok(());
        }
        let record = LayerRecord {
            diff_id: unpacked.diff_id.clone(),
            parent: None,
            size: unpacked.size,
        };
        record.write(staged)?;
        // Make the unpacked files durable before the layer becomes visible.
        let staged_dir = fs::File::open(staged)
            .map_err(|e| ImageError::io("opening staged layer", staged, e))?;
        nix::unistd::syncfs(&staged_dir)
            .map_err(|e| ImageError::io("syncing staged layer", staged, e.into()))?;
        fs::rename(staged, &target).map_err(|e| ImageError::io("publishing layer", &target, e))?;
        self.created.push(target);
        sync_dir(&layout.layers_dir())
    }

    /// Writes the config blob and the image record, unless the image already exists.
    fn config_blob(&mut self, layout: &Layout, id: &str, blob: &[u8]) -> Result<()> {
        let hex = hex_part(id);
        let blob_path = layout.blob(hex);
        if !blob_path.exists() {
            write_atomic(&blob_path, blob)?;
            self.created.push(blob_path);
        }
        let record = layout.image_record(hex);
        if !record.exists() {
            write_atomic(&record, b"{}")?;
            self.created.push(record);
        }
        Ok(())
    }

    fn commit(mut self) {
        self.created.clear();
    }
}

impl Drop for Publish {
    fn drop(&mut self) {
        for path in self.created.iter().rev() {
            let _ = if path.is_dir() {
                fs::remove_dir_all(path)
            } else {
                fs::remove_file(path)
            };
        }
    }
}
