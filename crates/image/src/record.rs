//! Image records: `images/sha256/<id hex>`, one per image.
//!
//! The record's existence is what makes a config blob an image, and it is written last when
//! an image is published, so an image is either complete or absent. It also remembers the OCI
//! manifest the image arrived with (if any), so `save --format oci-archive` can emit the very
//! same manifest and `inspect` can show a repo digest.

use std::fs;
use std::io::ErrorKind;

use serde::{Deserialize, Serialize};

use crate::error::{ImageError, Result};
use crate::layout::{write_atomic, Layout};

/// Contents of an image record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// `sha256:` of the manifest blob kept in `blobs/`, when the image was loaded from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

impl ImageRecord {
    /// Reads the record of image `hex`; an empty (older) record is the default.
    pub fn read(layout: &Layout, hex: &str) -> Result<ImageRecord> {
        let path = layout.image_record(hex);
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(ImageRecord::default()),
            Err(e) => return Err(ImageError::io("reading image record", &path, e)),
        };
        if data.is_empty() {
            return Ok(ImageRecord::default());
        }
        serde_json::from_slice(&data)
            .map_err(|e| ImageError::json("parsing image record", &path, e))
    }

    /// Writes the record of image `hex`.
    pub fn write(&self, layout: &Layout, hex: &str) -> Result<()> {
        let path = layout.image_record(hex);
        let data = serde_json::to_vec(self)
            .map_err(|e| ImageError::json("encoding image record", &path, e))?;
        write_atomic(&path, &data)
    }
}
