//! [`ImageStore`]: opening the store, and reading images out of it (`lookup`, `list`).
//!
//! An image is its config blob (`blobs/sha256/<id hex>`) plus a record in `images/sha256/`
//! that marks the blob as an image; its layers are found from the config's `rootfs.diff_ids`
//! through their chain ids. Tags live in `repositories.json`. Reads take the store lock
//! shared, so they never see a half-done import.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;

use crate::digest::{chain_ids, hex_part, is_lower_hex, SHA256_PREFIX};
use crate::error::{ImageError, Result};
use crate::import::{import, ImportRequest};
use crate::layer::LayerRecord;
use crate::layout::{layer_diff, Layout};
use crate::lock::StoreLock;
use crate::reference::Reference;
use crate::repositories::Repositories;
use crate::scratch::remove_stale;
use crate::timestamp::parse_rfc3339;

/// Handle on the image store rooted at one directory; cheap, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct ImageStore {
    layout: Layout,
}

/// An image resolved for running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `sha256:<hex>` of the config blob.
    pub id: String,
    /// The OCI image config.
    pub config: ImageConfiguration,
    /// Unpacked layer directories, lowest first (overlayfs wants them highest first).
    pub layers: Vec<PathBuf>,
    /// `name:tag` references pointing at this image, sorted.
    pub repo_tags: Vec<String>,
}

/// One row of `mydocker images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// Repository, or `<none>` for an untagged image.
    pub repository: String,
    /// Tag, or `<none>` for an untagged image.
    pub tag: String,
    /// `sha256:<hex>`.
    pub id: String,
    /// RFC 3339 creation time from the config.
    pub created: Option<String>,
    /// Bytes of all layers, unpacked.
    pub size: u64,
}

const NONE: &str = "<none>";

impl ImageStore {
    /// Opens (creating if needed) the store at `root` and removes leftovers of killed imports.
    pub fn open(root: &Path) -> Result<ImageStore> {
        let layout = Layout::new(root);
        layout.create_dirs()?;
        let _lock = StoreLock::exclusive(&layout.lock_file())?;
        remove_stale(&layout.tmp_dir())?;
        Ok(ImageStore { layout })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// `mydocker import SOURCE [REPOSITORY[:TAG]]`: SOURCE is a tar, tar.gz (detect by magic
    /// bytes, not extension) or a directory. Returns the image id.
    pub fn import(
        &self,
        source: &Path,
        reference: Option<&str>,
        changes: &[String],
        message: Option<&str>,
    ) -> Result<String> {
        import(
            &self.layout,
            &ImportRequest {
                source,
                reference,
                changes,
                message,
            },
        )
    }

    /// Every image, one row per tag (untagged images as `<none>:<none>`), newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let _lock = StoreLock::shared(&self.layout.lock_file())?;
        let repositories = Repositories::load(&self.layout)?;
        let mut rows = Vec::new();
        for hex in self.image_hexes()? {
            let id = format!("{SHA256_PREFIX}{hex}");
            let config = self.read_config(&hex)?;
            let size = self.image_size(&id, &config)?;
            let created = config.created().clone();
            let tags = repositories.tags_of(&id);
            if tags.is_empty() {
                rows.push(ImageSummary {
                    repository: NONE.into(),
                    tag: NONE.into(),
                    id: id.clone(),
                    created: created.clone(),
                    size,
                });
            }
            for tag in tags {
                let (repository, tag) = split_tag(&tag);
                rows.push(ImageSummary {
                    repository,
                    tag,
                    id: id.clone(),
                    created: created.clone(),
                    size,
                });
            }
        }
        rows.sort_by(|a, b| {
            let time = |row: &ImageSummary| row.created.as_deref().and_then(parse_rfc3339);
            time(b)
                .cmp(&time(a))
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)))
        });
        Ok(rows)
    }

    /// Finds an image by `name`, `name:tag`, `sha256:<hex>`, `<hex>` or a unique hex prefix.
    pub fn lookup(&self, name_or_id: &str) -> Result<Image> {
        let _lock = StoreLock::shared(&self.layout.lock_file())?;
        let repositories = Repositories::load(&self.layout)?;
        let hex = self.resolve(name_or_id, &repositories)?;
        let id = format!("{SHA256_PREFIX}{hex}");
        let config = self.read_config(&hex)?;
        let layers = self.layer_dirs(&id, &config)?;
        Ok(Image {
            repo_tags: repositories.tags_of(&id),
            id,
            config,
            layers,
        })
    }

    /// Resolves a name or id to the hex of an image id, the way Docker does: a tag first, then
    /// an id or id prefix.
    fn resolve(&self, name_or_id: &str, repositories: &Repositories) -> Result<String> {
        let reference = Reference::parse(name_or_id);
        if let Ok(reference) = &reference {
            if let Some(id) = repositories.get(&reference.to_string()) {
                return Ok(hex_part(id).to_owned());
            }
        }
        let prefix = name_or_id.strip_prefix(SHA256_PREFIX).unwrap_or(name_or_id);
        if !is_lower_hex(prefix) || prefix.len() > 64 {
            return match reference {
                Ok(reference) => Err(ImageError::NotFound(reference.to_string())),
                Err(err) => Err(err.into()),
            };
        }
        let matches: Vec<String> = self
            .image_hexes()?
            .into_iter()
            .filter(|hex| hex.starts_with(prefix))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ImageError::NotFound(match reference {
                Ok(reference) if !name_or_id.starts_with(SHA256_PREFIX) => reference.to_string(),
                _ => name_or_id.to_owned(),
            })),
            many => Err(ImageError::AmbiguousId {
                prefix: name_or_id.to_owned(),
                count: many.len(),
            }),
        }
    }

    /// Hex ids of every image in the store.
    fn image_hexes(&self) -> Result<Vec<String>> {
        let dir = self.layout.images_dir();
        let entries = fs::read_dir(&dir).map_err(|e| ImageError::io("listing images", &dir, e))?;
        let mut hexes = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ImageError::io("listing images", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && is_lower_hex(&name) {
                hexes.push(name);
            }
        }
        hexes.sort();
        Ok(hexes)
    }

    fn read_config(&self, hex: &str) -> Result<ImageConfiguration> {
        let path = self.layout.blob(hex);
        let data = fs::read(&path).map_err(|e| ImageError::io("reading image config", &path, e))?;
        serde_json::from_slice(&data)
            .map_err(|e| ImageError::json("parsing image config", &path, e))
    }

    /// Chain ids (hex) of the image's layers, lowest first.
    fn chain_hexes(config: &ImageConfiguration) -> Vec<String> {
        chain_ids(config.rootfs().diff_ids())
            .iter()
            .map(|chain| hex_part(chain).to_owned())
            .collect()
    }

    fn layer_dirs(&self, id: &str, config: &ImageConfiguration) -> Result<Vec<PathBuf>> {
        Self::chain_hexes(config)
            .into_iter()
            .map(|chain_hex| {
                let diff = layer_diff(&self.layout.layer_dir(&chain_hex));
                if diff.is_dir() {
                    Ok(diff)
                } else {
                    Err(ImageError::MissingLayer {
                        image: id.to_owned(),
                        chain_id: format!("{SHA256_PREFIX}{chain_hex}"),
                    })
                }
            })
            .collect()
    }

    fn image_size(&self, id: &str, config: &ImageConfiguration) -> Result<u64> {
        let mut size = 0;
        for chain_hex in Self::chain_hexes(config) {
            if !self.layout.layer_dir(&chain_hex).is_dir() {
                return Err(ImageError::MissingLayer {
                    image: id.to_owned(),
                    chain_id: format!("{SHA256_PREFIX}{chain_hex}"),
                });
            }
            size += LayerRecord::read(&self.layout, &chain_hex)?.size;
        }
        Ok(size)
    }
}

/// Splits a stored `repo:tag` key at the last colon (a registry port comes before a `/`).
fn split_tag(key: &str) -> (String, String) {
    match key.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository.to_owned(), tag.to_owned()),
        _ => (key.to_owned(), NONE.to_owned()),
    }
}
