//! `mydocker import`: turn a tar, tar.gz or directory into a single-layer image
//! (<https://docs.docker.com/reference/cli/docker/image/import/>).
//!
//! The steps, in order:
//! 1. validate the reference and the `--change` instructions (nothing touched yet);
//! 2. stage: unpack the source into a locked scratch dir under `<root>/tmp/`, hashing the tar
//!    to get the diff id and keeping the source bytes as the layer's blob (a directory source
//!    is first packed into a tar there);
//! 3. build the image config and its id;
//! 4. publish ([`crate::publish`]), under the exclusive store lock: move the layer into
//!    `layers/` (or reuse an identical one), write the blobs and the image record, move the tag.
//!
//! A failure in step 2 leaves nothing behind; a failure in step 4 undoes what step 4 created.

use std::fs::{self, File};
use std::path::Path;

use crate::archive::{pack_directory, stage_layer, ArchiveError, PackMode, Unpacked};
use crate::change::parse_changes;
use crate::config::{encode, import_config, ImportConfig};
use crate::digest::{hex_part, sha256_digest};
use crate::error::{ImageError, Result};
use crate::layer::{BlobRef, LayerRecord};
use crate::layout::{layer_diff, Layout};
use crate::lock::StoreLock;
use crate::publish::Publish;
use crate::record::ImageRecord;
use crate::reference::Reference;
use crate::repositories::Repositories;
use crate::scratch::ScratchDir;
use crate::timestamp::now_rfc3339;
use crate::unpack::{AbsolutePaths, UnpackOptions};

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
    let staged_blob = scratch.path().join("blob");
    let unpacked =
        stage(request.source, scratch.path(), &staged_layer, &staged_blob).map_err(|reason| {
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
    let mut publish = Publish::begin(layout, scratch.path())?;
    // A single layer: its chain id is its diff id.
    let record = LayerRecord {
        diff_id: unpacked.diff_id.clone(),
        parent: None,
        size: unpacked.size,
        tar_size: Some(unpacked.tar_size),
        blob: Some(BlobRef {
            digest: unpacked.blob_digest.clone(),
            media_type: unpacked.compression.oci_media_type().to_owned(),
            size: unpacked.blob_size,
        }),
    };
    if publish.layer(&staged_layer, hex_part(&unpacked.diff_id), &record)? {
        publish.blob_file(&staged_blob, hex_part(&unpacked.blob_digest))?;
    }
    publish.blob_bytes(hex_part(&id), &blob)?;
    publish.image(hex_part(&id), &ImageRecord::default())?;
    if let Some(reference) = reference {
        let mut repositories = Repositories::load(layout)?;
        repositories.set(reference.to_string(), id.clone());
        repositories.save(layout)?;
    }
    publish.commit();
    Ok(id)
}

/// Step 2: unpack the source (packing it first if it is a directory) into `layer_dir/diff`,
/// copying its bytes to `blob`.
fn stage(
    source: &Path,
    scratch: &Path,
    layer_dir: &Path,
    blob: &Path,
) -> Result<Unpacked, ArchiveError> {
    let meta = fs::metadata(source).map_err(ArchiveError::Open)?;
    let tar_path = if meta.is_dir() {
        let tar_path = scratch.join("layer.tar");
        pack_directory(source, &tar_path, PackMode::Plain)?;
        tar_path
    } else {
        source.to_path_buf()
    };
    let file = File::open(&tar_path).map_err(ArchiveError::Open)?;
    let options = UnpackOptions::layer(AbsolutePaths::Refuse);
    stage_layer(
        file,
        &layer_diff(layer_dir),
        Some(blob),
        &options,
        &mut |_| {},
    )
}
