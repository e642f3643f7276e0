//! `rmi`, `image prune` and layer garbage collection
//! (<https://docs.docker.com/reference/cli/docker/image/rm/>,
//! <https://docs.docker.com/reference/cli/docker/image/prune/>).
//!
//! Removing an image is two steps under the exclusive store lock: drop its tags and its record
//! (after which it is no longer an image), then [`gc`]: every layer no remaining image uses
//! and every blob no remaining image or layer names is deleted. Layers are shared, so a layer
//! goes only with the last image that uses it.
//!
//! Whether a container uses an image is the engine's knowledge: it passes the ids of every
//! container's image (running or not). Docker's rules, with one difference:
//! - `rmi name:tag` of an image with other tags only untags;
//! - `rmi` of an image's last tag, or by id, deletes the image; by id with several tags it
//!   needs `force`;
//! - an image a container uses is refused without `force`; with `force` it is untagged but
//!   kept (as a dangling image), because the container's overlay mounts its layers. Docker
//!   deletes the image record and keeps the layers; keeping both here keeps the store simple.

use std::collections::HashSet;
use std::fmt;
use std::fs;

use crate::digest::{chain_ids, hex_part, SHA256_PREFIX};
use crate::error::{ImageError, Result};
use crate::layer::LayerRecord;
use crate::layout::Layout;
use crate::links;
use crate::record::ImageRecord;
use crate::repositories::Repositories;

/// One line of `rmi` or `image prune` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveEvent {
    /// `Untagged: name:tag`.
    Untagged(String),
    /// `Deleted: sha256:..`: an image id, or the chain id of a removed layer.
    Deleted(String),
}

impl fmt::Display for RemoveEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoveEvent::Untagged(tag) => write!(f, "Untagged: {tag}"),
            RemoveEvent::Deleted(id) => write!(f, "Deleted: {id}"),
        }
    }
}

/// What `prune` (or a removal's garbage collection) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// The lines to print, in order.
    pub events: Vec<RemoveEvent>,
    /// Bytes freed: unpacked layers plus blobs.
    pub reclaimed: u64,
}

/// `rmi NAME`. `hex` is the resolved image, `by_tag` the tag the user named (if any).
pub fn remove(
    layout: &Layout,
    repositories: &mut Repositories,
    hex: &str,
    by_tag: Option<&str>,
    force: bool,
    in_use: bool,
) -> Result<Vec<RemoveEvent>> {
    let id = format!("{SHA256_PREFIX}{hex}");
    let short = &hex[..12];
    let tags = repositories.tags_of(&id);
    let mut events = Vec::new();
    if let Some(tag) = by_tag {
        if tags.len() > 1 {
            repositories.remove(tag);
            repositories.save(layout)?;
            return Ok(vec![RemoveEvent::Untagged(tag.to_owned())]);
        }
        if in_use && !force {
            return Err(ImageError::ReferenceInUse {
                reference: tag.to_owned(),
                short_id: short.to_owned(),
            });
        }
    } else if in_use && !force {
        return Err(ImageError::ImageInUse {
            short_id: short.to_owned(),
        });
    } else if tags.len() > 1 && !force {
        return Err(ImageError::MultipleReferences {
            short_id: short.to_owned(),
        });
    }
    for tag in &tags {
        repositories.remove(tag);
        events.push(RemoveEvent::Untagged(tag.clone()));
    }
    if !tags.is_empty() {
        repositories.save(layout)?;
    }
    if in_use {
        // Forced: untagged, but the container still needs it.
        return Ok(events);
    }
    delete_record(layout, hex)?;
    events.push(RemoveEvent::Deleted(id));
    events.extend(gc(layout)?.events);
    Ok(events)
}

/// `image prune [-a]`: removes dangling images (or, with `all`, every image) that no
/// container uses.
pub fn prune(
    layout: &Layout,
    repositories: &mut Repositories,
    image_hexes: &[String],
    all: bool,
    in_use: &HashSet<String>,
) -> Result<PruneReport> {
    let mut report = PruneReport::default();
    let mut untagged_any = false;
    for hex in image_hexes {
        let id = format!("{SHA256_PREFIX}{hex}");
        let tags = repositories.tags_of(&id);
        if in_use.contains(&id) || (!all && !tags.is_empty()) {
            continue;
        }
        for tag in tags {
            repositories.remove(&tag);
            report.events.push(RemoveEvent::Untagged(tag));
            untagged_any = true;
        }
        delete_record(layout, hex)?;
        report.events.push(RemoveEvent::Deleted(id));
    }
    if untagged_any {
        repositories.save(layout)?;
    }
    let collected = gc(layout)?;
    report.events.extend(collected.events);
    report.reclaimed += collected.reclaimed;
    Ok(report)
}

fn delete_record(layout: &Layout, hex: &str) -> Result<()> {
    let path = layout.image_record(hex);
    fs::remove_file(&path).map_err(|e| ImageError::io("removing image record", &path, e))
}

/// Deletes every layer and blob no image needs. The caller holds the exclusive store lock.
/// Events name the removed layers by chain id, as Docker's `Deleted:` lines do.
pub fn gc(layout: &Layout) -> Result<PruneReport> {
    let mut keep_layers: HashSet<String> = HashSet::new();
    let mut keep_blobs: HashSet<String> = HashSet::new();
    let images = fs::read_dir(layout.images_dir())
        .map_err(|e| ImageError::io("listing images", layout.images_dir(), e))?;
    for entry in images {
        let entry = entry.map_err(|e| ImageError::io("listing images", layout.images_dir(), e))?;
        let hex = entry.file_name().to_string_lossy().into_owned();
        if hex.starts_with('.') {
            continue;
        }
        keep_blobs.insert(hex.clone());
        if let Some(manifest) = ImageRecord::read(layout, &hex)?.manifest {
            keep_blobs.insert(hex_part(&manifest).to_owned());
        }
        let path = layout.blob(&hex);
        let config =
            fs::read(&path).map_err(|e| ImageError::io("reading image config", &path, e))?;
        let diff_ids = config_diff_ids(&config)
            .map_err(|e| ImageError::json("parsing image config", &path, e))?;
        for chain in chain_ids(&diff_ids) {
            keep_layers.insert(hex_part(&chain).to_owned());
        }
    }

    let mut report = PruneReport::default();
    let layers = fs::read_dir(layout.layers_dir())
        .map_err(|e| ImageError::io("listing layers", layout.layers_dir(), e))?;
    let mut layer_names: Vec<String> = Vec::new();
    for entry in layers {
        let entry = entry.map_err(|e| ImageError::io("listing layers", layout.layers_dir(), e))?;
        layer_names.push(entry.file_name().to_string_lossy().into_owned());
    }
    layer_names.sort();
    for chain_hex in layer_names {
        if keep_layers.contains(&chain_hex) {
            if let Ok(record) = LayerRecord::read(layout, &chain_hex) {
                if let Some(blob) = record.blob {
                    keep_blobs.insert(hex_part(&blob.digest).to_owned());
                }
            }
            continue;
        }
        let dir = layout.layer_dir(&chain_hex);
        let size = LayerRecord::read(layout, &chain_hex).map_or(0, |r| r.size);
        links::remove_link(layout, &chain_hex)?;
        // Rename first so a half-removed layer never looks like a layer.
        let doomed = layout.tmp_dir().join(format!("gc-{chain_hex}"));
        fs::rename(&dir, &doomed).map_err(|e| ImageError::io("removing layer", &dir, e))?;
        fs::remove_dir_all(&doomed).map_err(|e| ImageError::io("removing layer", &doomed, e))?;
        report.reclaimed += size;
        report
            .events
            .push(RemoveEvent::Deleted(format!("{SHA256_PREFIX}{chain_hex}")));
    }

    let blobs = fs::read_dir(layout.blobs_dir())
        .map_err(|e| ImageError::io("listing blobs", layout.blobs_dir(), e))?;
    for entry in blobs {
        let entry = entry.map_err(|e| ImageError::io("listing blobs", layout.blobs_dir(), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep_blobs.contains(&name) {
            continue;
        }
        let size = entry.metadata().map_or(0, |m| m.len());
        fs::remove_file(entry.path())
            .map_err(|e| ImageError::io("removing blob", entry.path(), e))?;
        report.reclaimed += size;
    }
    Ok(report)
}

/// `rootfs.diff_ids` of a config blob.
pub fn config_diff_ids(config: &[u8]) -> serde_json::Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    #[derive(serde::Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<String>,
    }
    serde_json::from_slice::<Config>(config).map(|c| c.rootfs.diff_ids)
}
