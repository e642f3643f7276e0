//! Layers: an unpacked tree under `layers/<chain hex>/diff/` plus its record `layer.json`.
//!
//! A layer is named by its chain id (see [`crate::digest::chain_ids`]), so the same content on
//! the same parent is stored once and shared by every image that uses it. The record is written
//! inside the staging directory before the layer is renamed into place, so a published layer
//! always has one.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ImageError, Result};
use crate::layout::{layer_json, Layout};

/// Contents of `layer.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// `sha256:` of the layer's uncompressed tar.
    pub diff_id: String,
    /// Chain id of the layer below, `None` for a base layer.
    pub parent: Option<String>,
    /// Bytes of regular files in the unpacked layer.
    pub size: u64,
    /// Length of the uncompressed layer tar (the diff id's input); absent in layers written
    /// before blobs were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar_size: Option<u64>,
    /// The layer's blob in `blobs/sha256/` as it arrived (compressed or not), which `save`
    /// emits so digests round-trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<BlobRef>,
}

/// A blob of the store and how to describe it in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// `sha256:<hex>`; the file is `blobs/sha256/<hex>`.
    pub digest: String,
    /// OCI media type (`application/vnd.oci.image.layer.v1.tar+gzip`, ...).
    pub media_type: String,
    /// Bytes.
    pub size: u64,
}

impl LayerRecord {
    /// Writes the record into the (not yet published) layer directory `layer_dir`.
    pub fn write(&self, layer_dir: &Path) -> Result<()> {
        let path = layer_json(layer_dir);
        let data = serde_json::to_vec(self)
            .map_err(|e| ImageError::json("encoding layer record", &path, e))?;
        crate::layout::write_atomic(&path, &data)
    }

    /// Reads the record of the published layer `chain_hex`.
    pub fn read(layout: &Layout, chain_hex: &str) -> Result<LayerRecord> {
        let path = layer_json(&layout.layer_dir(chain_hex));
        let data = fs::read(&path).map_err(|e| ImageError::io("reading layer record", &path, e))?;
        serde_json::from_slice(&data)
            .map_err(|e| ImageError::json("parsing layer record", &path, e))
    }
}
