//! `mydocker commit`: a container's overlayfs upper dir becomes a new layer on top of its
//! image (<https://docs.docker.com/reference/cli/docker/container/commit/>; the book's commit
//! tars the merged view, this one keeps layers).
//!
//! The steps, in order:
//! 1. validate the reference and the `--change` instructions, resolve the base image;
//! 2. pack the upper dir into a tar in the scratch dir, overlay whiteouts written as OCI
//!    whiteouts ([`crate::whiteout`]), and unpack that tar as the new layer's diff dir (turning
//!    them back), which also gives the diff id; the tar is kept as the layer's blob;
//! 3. the new config: the base config, the changes, a history entry, the new diff id;
//! 4. publish like any other layer, chained on the base's layers, then the config and tag.
//!
//! Pausing the container while its upper dir is read is the engine's job.

use std::fs::File;
use std::path::Path;

use oci_spec::image::{Config, History, ImageConfiguration};

use crate::archive::{pack_directory, stage_layer, PackMode};
use crate::change::{apply_changes, parse_changes};
use crate::config::encode;
use crate::digest::{chain_ids, hex_part, sha256_digest};
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

/// What `commit` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct CommitRequest<'a> {
    /// The container's overlayfs upper dir.
    pub upper: &'a Path,
    /// The container's image (id or reference); `None` commits on top of nothing.
    pub base: Option<&'a str>,
    /// `REPOSITORY[:TAG]` to tag the new image with.
    pub reference: Option<&'a str>,
    /// `--change` instructions.
    pub changes: &'a [String],
    /// `-m`: the history comment.
    pub message: Option<&'a str>,
    /// `-a`: the author.
    pub author: Option<&'a str>,
    /// The history's "CREATED BY": Docker puts the container's command there.
    pub created_by: Option<&'a str>,
}

/// Runs the commit; `base` is the base image's id hex and config, already resolved.
pub fn commit(
    layout: &Layout,
    request: &CommitRequest<'_>,
    base: Option<(String, ImageConfiguration)>,
) -> Result<String> {
    let reference = request.reference.map(Reference::parse).transpose()?;
    let changes = parse_changes(request.changes)?;
    let scratch = {
        let _lock = StoreLock::exclusive(&layout.lock_file())?;
        ScratchDir::create(&layout.tmp_dir())?
    };
    let commit_err = |reason| ImageError::Commit {
        upper: request.upper.to_path_buf(),
        reason,
    };
    tracing::debug!(upper = %request.upper.display(), "packing upper dir");
    let tar_path = scratch.path().join("layer.tar");
    pack_directory(request.upper, &tar_path, PackMode::OverlayUpper).map_err(commit_err)?;
    let staged = scratch.path().join("layer");
    let file =
        File::open(&tar_path).map_err(|e| ImageError::io("opening layer tar", &tar_path, e))?;
    let options = UnpackOptions::layer(AbsolutePaths::Refuse);
    let unpacked =
        stage_layer(file, &layer_diff(&staged), None, &options, &mut |_| {}).map_err(commit_err)?;

    let created = now_rfc3339();
    let (base_id, mut config) = match base {
        Some((hex, config)) => (Some(hex), config),
        None => (
            None,
            crate::config::import_config(&crate::config::ImportConfig {
                diff_id: &unpacked.diff_id,
                changes: &[],
                message: None,
                created: &created,
            }),
        ),
    };
    if base_id.is_none() {
        // import_config already recorded the layer and a history entry; start them afresh.
        config.rootfs_mut().set_diff_ids(Vec::new());
        config.set_history(Some(Vec::new()));
    }
    let mut inner: Config = config.config().clone().unwrap_or_default();
    apply_changes(&mut inner, &changes);
    config.set_config(Some(inner));
    config.set_created(Some(created.clone()));
    config.set_author(request.author.filter(|a| !a.is_empty()).map(str::to_owned));
    let mut history = History::default();
    history.set_created(Some(created));
    history.set_author(config.author().clone());
    history.set_created_by(request.created_by.map(str::to_owned));
    history.set_comment(request.message.filter(|m| !m.is_empty()).map(str::to_owned));
    let mut entries = config.history().clone().unwrap_or_default();
    entries.push(history);
    config.set_history(Some(entries));
    let mut diff_ids = config.rootfs().diff_ids().clone();
    diff_ids.push(unpacked.diff_id.clone());
    config.rootfs_mut().set_diff_ids(diff_ids.clone());

    let blob =
        encode(&config).map_err(|e| ImageError::json("encoding image config", layout.root(), e))?;
    let id = sha256_digest(&blob);
    let chains = chain_ids(&diff_ids);
    let chain = chains.last().cloned().unwrap_or_default();
    let parent = (chains.len() > 1).then(|| chains[chains.len() - 2].clone());

    tracing::debug!(%id, diff_id = %unpacked.diff_id, "publishing commit");
    let _lock = StoreLock::exclusive(&layout.lock_file())?;
    for (i, below) in chains.iter().enumerate().take(chains.len() - 1) {
        if !layout.layer_dir(hex_part(below)).is_dir() {
            return Err(ImageError::MissingLayer {
                image: base_id.clone().unwrap_or_default(),
                chain_id: format!("{below} (layer {i})"),
            });
        }
    }
    let mut publish = Publish::begin(layout, scratch.path())?;
    let record = LayerRecord {
        diff_id: unpacked.diff_id.clone(),
        parent,
        size: unpacked.size,
        tar_size: Some(unpacked.tar_size),
        blob: Some(BlobRef {
            digest: unpacked.blob_digest.clone(),
            media_type: unpacked.compression.oci_media_type().to_owned(),
            size: unpacked.blob_size,
        }),
    };
    if publish.layer(&staged, hex_part(&chain), &record)? {
        publish.blob_file(&tar_path, hex_part(&unpacked.blob_digest))?;
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
