//! [`ImageStore`]: opening the store, and reading images out of it (`lookup`, `list`).
//!
//! An image is its config blob (`blobs/sha256/<id hex>`) plus a record in `images/sha256/`
//! that marks the blob as an image; its layers are found from the config's `rootfs.diff_ids`
//! through their chain ids. Tags live in `repositories.json`. Reads take the store lock
//! shared, so they never see a half-done import.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;

use crate::commit::{commit, CommitRequest};
use crate::digest::{chain_ids, hex_part, is_lower_hex, SHA256_PREFIX};
use crate::error::{ImageError, Result};
use crate::import::{import, ImportRequest};
use crate::inspect::{history, inspect, HistoryEntry, InspectInput};
use crate::layer::LayerRecord;
use crate::layout::{layer_diff, Layout};
use crate::links;
use crate::load::{load, LoadSource, Loaded};
use crate::lock::StoreLock;
use crate::progress::Progress;
use crate::record::ImageRecord;
use crate::reference::Reference;
use crate::remove::{gc, prune, remove, PruneReport, RemoveEvent};
use crate::repositories::Repositories;
use crate::save::{save_image, write_archive, SaveFormat};
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
    /// Digest of the manifest the image was loaded with (`images --digests`).
    pub digest: Option<String>,
}

/// Short, relative overlayfs lower dirs of an image (see [`ImageStore::lower_dirs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerDirs {
    /// The directory the relative paths are relative to (the store root): the process that
    /// mounts must `chdir` here first.
    pub base: PathBuf,
    /// `l/<16 hex>` per layer, highest (topmost) first, as `lowerdir=` wants them.
    pub dirs: Vec<String>,
}

impl LowerDirs {
    /// The `lowerdir=` value: the dirs joined with `:`.
    pub fn option_value(&self) -> String {
        self.dirs.join(":")
    }
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
            let digest = ImageRecord::read(&self.layout, &hex)?.manifest;
            let tags = repositories.tags_of(&id);
            if tags.is_empty() {
                rows.push(ImageSummary {
                    repository: NONE.into(),
                    tag: NONE.into(),
                    id: id.clone(),
                    created: created.clone(),
                    size,
                    digest: digest.clone(),
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
                    digest: digest.clone(),
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

    /// `mydocker load -i PATH`: a docker-archive or OCI archive (tar, optionally gzip or zstd
    /// compressed) or an OCI layout directory. Returns what was loaded, in archive order.
    pub fn load_path(&self, path: &Path, progress: &dyn Progress) -> Result<Vec<Loaded>> {
        load(&self.layout, LoadSource::Path(path), progress)
    }

    /// `mydocker load` from a stream (stdin): spilled to the store's scratch area first.
    pub fn load_reader(
        &self,
        reader: &mut dyn Read,
        progress: &dyn Progress,
    ) -> Result<Vec<Loaded>> {
        load(&self.layout, LoadSource::Reader(reader), progress)
    }

    /// `mydocker save`: writes the images named by `names` (tags or ids) to `out`. A name
    /// that is a tag is recorded in the archive; an id is saved untagged, as Docker does.
    pub fn save(
        &self,
        names: &[String],
        format: SaveFormat,
        out: &mut dyn Write,
        progress: &dyn Progress,
    ) -> Result<()> {
        let _lock = StoreLock::shared(&self.layout.lock_file())?;
        let repositories = Repositories::load(&self.layout)?;
        let mut images: Vec<crate::save::SaveImage> = Vec::new();
        for name in names {
            let hex = self.resolve(name, &repositories)?;
            let tag = Self::tag_named(name, &repositories);
            match images.iter_mut().find(|i| hex_part(&i.id) == hex) {
                Some(image) => image.tags.extend(tag),
                None => images.push(save_image(&self.layout, &hex, tag.into_iter().collect())?),
            }
        }
        for image in &mut images {
            image.tags.sort();
            image.tags.dedup();
        }
        write_archive(&self.layout, &images, format, out, progress)
    }

    /// `mydocker tag SOURCE TARGET`: points the reference TARGET at the image SOURCE names.
    pub fn tag(&self, source: &str, target: &str) -> Result<()> {
        let target = Reference::parse(target)?;
        let _lock = StoreLock::exclusive(&self.layout.lock_file())?;
        let mut repositories = Repositories::load(&self.layout)?;
        let hex = self.resolve(source, &repositories)?;
        repositories.set(target.to_string(), format!("{SHA256_PREFIX}{hex}"));
        repositories.save(&self.layout)
    }

    /// `mydocker rmi NAME`: untags and deletes, with Docker's rules (see the `remove` module).
    /// `in_use` holds the image ids of every container, running or not. Returns the
    /// `Untagged:` / `Deleted:` lines.
    pub fn remove(&self, name: &str, force: bool, in_use: &[String]) -> Result<Vec<RemoveEvent>> {
        let _lock = StoreLock::exclusive(&self.layout.lock_file())?;
        let mut repositories = Repositories::load(&self.layout)?;
        let hex = self.resolve(name, &repositories)?;
        let by_tag = Self::tag_named(name, &repositories);
        let used = in_use.iter().any(|id| hex_part(id) == hex);
        remove(
            &self.layout,
            &mut repositories,
            &hex,
            by_tag.as_deref(),
            force,
            used,
        )
    }

    /// `mydocker image prune [-a]`: removes dangling images (with `all`, every image) that no
    /// container uses, then unused layers and blobs.
    pub fn prune(&self, all: bool, in_use: &[String]) -> Result<PruneReport> {
        let _lock = StoreLock::exclusive(&self.layout.lock_file())?;
        let mut repositories = Repositories::load(&self.layout)?;
        let hexes = self.image_hexes()?;
        let in_use: HashSet<String> = in_use
            .iter()
            .map(|id| format!("{SHA256_PREFIX}{}", hex_part(id)))
            .collect();
        prune(&self.layout, &mut repositories, &hexes, all, &in_use)
    }

    /// Deletes layers and blobs that no image uses (left by a killed load, for instance).
    pub fn gc(&self) -> Result<PruneReport> {
        let _lock = StoreLock::exclusive(&self.layout.lock_file())?;
        gc(&self.layout)
    }

    /// `mydocker history NAME`, newest step first.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let _lock = StoreLock::shared(&self.layout.lock_file())?;
        let repositories = Repositories::load(&self.layout)?;
        let hex = self.resolve(name, &repositories)?;
        let config = self.read_raw_config(&hex)?;
        history(&self.layout, &format!("{SHA256_PREFIX}{hex}"), &config)
    }

    /// `mydocker image inspect NAME`: Docker's JSON object for the image.
    pub fn inspect(&self, name: &str) -> Result<serde_json::Value> {
        let _lock = StoreLock::shared(&self.layout.lock_file())?;
        let repositories = Repositories::load(&self.layout)?;
        let hex = self.resolve(name, &repositories)?;
        let id = format!("{SHA256_PREFIX}{hex}");
        let config = self.read_raw_config(&hex)?;
        let record = ImageRecord::read(&self.layout, &hex)?;
        inspect(
            &self.layout,
            &InspectInput {
                id: &id,
                repo_tags: &repositories.tags_of(&id),
                manifest: record.manifest.as_deref(),
                config: &config,
            },
        )
    }

    /// `mydocker commit`: turns a container's upper dir into a new image on top of
    /// `request.base`. Returns the new image id.
    pub fn commit(&self, request: &CommitRequest<'_>) -> Result<String> {
        let base = match request.base {
            Some(name) => {
                let _lock = StoreLock::shared(&self.layout.lock_file())?;
                let repositories = Repositories::load(&self.layout)?;
                let hex = self.resolve(name, &repositories)?;
                let config = self.read_config(&hex)?;
                Some((hex, config))
            }
            None => None,
        };
        commit(&self.layout, request, base)
    }

    /// Short relative lower dirs for mounting `image` (see the `links` module). The engine
    /// mounts from the store root: in the process that calls mount(2), `chdir(base)` and pass
    /// `lowerdir=<option_value()>` with absolute upper and work dirs. Missing links (layers
    /// stored before links existed) are created.
    pub fn lower_dirs(&self, image: &Image) -> Result<LowerDirs> {
        let mut dirs = Vec::new();
        for chain_hex in Self::chain_hexes(&image.config).iter().rev() {
            let path = links::link_name(chain_hex);
            if !self.layout.root().join(&path).exists() {
                let _lock = StoreLock::exclusive(&self.layout.lock_file())?;
                links::ensure_link(&self.layout, chain_hex)?;
            }
            dirs.push(path);
        }
        Ok(LowerDirs {
            base: self.layout.root().to_path_buf(),
            dirs,
        })
    }

    /// The `name:tag` a user name denotes, when it is a tag of the store (not an id).
    fn tag_named(name: &str, repositories: &Repositories) -> Option<String> {
        let reference = Reference::parse(name).ok()?.to_string();
        repositories.get(&reference).map(|_| reference)
    }

    fn read_raw_config(&self, hex: &str) -> Result<serde_json::Value> {
        let path = self.layout.blob(hex);
        let data = fs::read(&path).map_err(|e| ImageError::io("reading image config", &path, e))?;
        serde_json::from_slice(&data)
            .map_err(|e| ImageError::json("parsing image config", &path, e))
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
