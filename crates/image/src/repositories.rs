//! `repositories.json`: the tags, a map from `name:tag` to image id.
//!
//! Loaded whole and replaced atomically; callers hold the store lock (shared to read,
//! exclusive to change), so a load-modify-save never loses a concurrent update.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;

use crate::error::{ImageError, Result};
use crate::layout::{write_atomic, Layout};

/// Tag -> image id, sorted by tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repositories {
    tags: BTreeMap<String, String>,
}

impl Repositories {
    /// Reads the file; a missing file is an empty map.
    pub fn load(layout: &Layout) -> Result<Repositories> {
        let path = layout.repositories();
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Repositories::default()),
            Err(e) => return Err(ImageError::io("reading repositories", &path, e)),
        };
        let tags = serde_json::from_slice(&data)
            .map_err(|e| ImageError::json("parsing repositories", &path, e))?;
        Ok(Repositories { tags })
    }

    /// Replaces the file with this map.
    pub fn save(&self, layout: &Layout) -> Result<()> {
        let path = layout.repositories();
        let data = serde_json::to_vec_pretty(&self.tags)
            .map_err(|e| ImageError::json("encoding repositories", &path, e))?;
        write_atomic(&path, &data)
    }

    pub fn get(&self, tag: &str) -> Option<&str> {
        self.tags.get(tag).map(String::as_str)
    }

    /// Points `tag` at `id`, returning the image it pointed at before.
    pub fn set(&mut self, tag: String, id: String) -> Option<String> {
        self.tags.insert(tag, id)
    }

    /// Removes `tag`, returning the image it pointed at.
    pub fn remove(&mut self, tag: &str) -> Option<String> {
        self.tags.remove(tag)
    }

    /// Tags of image `id`, sorted.
    pub fn tags_of(&self, id: &str) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, image)| *image == id)
            .map(|(tag, _)| tag.clone())
            .collect()
    }
}
