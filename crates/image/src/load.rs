//! `mydocker load`: images from a docker-archive (what `docker save` writes), an OCI archive
//! or an OCI layout directory (<https://docs.docker.com/reference/cli/docker/image/load/>,
//! <https://github.com/opencontainers/image-spec/blob/main/image-layout.md>).
//!
//! The steps, in order:
//! 1. open the input ([`crate::input`]): a tar is indexed in place (a compressed one or a
//!    stream is first spilled to the scratch dir), a directory is read as is;
//! 2. plan: read `manifest.json` (docker-archive; preferred when an archive has both, as
//!    Docker 25 writes) or `index.json` (OCI), every manifest and config, checking each blob
//!    against the digest and size that names it, and that every layer exists, before any
//!    layer is read;
//! 3. stage: unpack every layer not already in the store (by chain id) into the scratch dir,
//!    keeping its blob, in one pass that checks the blob digest and the diff id against the
//!    config's `rootfs.diff_ids`;
//! 4. publish ([`crate::publish`]) under the exclusive store lock: layers, blobs, the image
//!    records, then the tags.
//!
//! Any failure before step 4 leaves the store untouched (the scratch dir goes away); step 4
//! undoes itself. A killed load leaves only a stale scratch dir, swept by the next open.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::archive::{stage_layer, ArchiveError};
use crate::config::go_arch;
use crate::digest::{chain_ids, hex_part, is_lower_hex, sha256_digest, SHA256_PREFIX};
use crate::error::{ImageError, Result};
use crate::input::{self, Input};
use crate::layer::{BlobRef, LayerRecord};
use crate::layout::{layer_diff, Layout};
use crate::lock::StoreLock;
use crate::progress::{short_id, LayerProgress, Progress};
use crate::publish::Publish;
use crate::record::ImageRecord;
use crate::reference::Reference;
use crate::repositories::Repositories;
use crate::scratch::ScratchDir;
use crate::unpack::{AbsolutePaths, UnpackOptions};

/// Largest JSON document (manifest, index, config) read from an archive.
const JSON_LIMIT: u64 = 16 << 20;

const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Why an archive could not be loaded. Every variant leaves the store unchanged.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot open: {0}")]
    Open(#[source] std::io::Error),
    #[error("spilling the archive to {}: {source}", path.display())]
    Spill {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the archive: {0}")]
    Index(#[source] std::io::Error),
    #[error("reading {member}: {source}")]
    Read {
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unexpected end of archive (truncated)")]
    Truncated,
    #[error(transparent)]
    Archive(ArchiveError),
    #[error("neither manifest.json (docker-archive) nor index.json (OCI layout) found: not an image archive")]
    NotAnArchive,
    #[error("the archive names {0}, which it does not contain")]
    MissingBlob(String),
    #[error("{member} is {size} bytes, too large for a JSON document")]
    TooLarge { member: String, size: u64 },
    #[error("parsing {member}: {source}")]
    Json {
        member: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{member} has digest {actual}, but the archive says {expected}")]
    DigestMismatch {
        member: String,
        expected: String,
        actual: String,
    },
    #[error("{member} is {actual} bytes, but its descriptor says {expected}")]
    SizeMismatch {
        member: String,
        expected: u64,
        actual: u64,
    },
    #[error("layer {member} has diff id {actual}, but the image config says {expected}")]
    DiffIdMismatch {
        member: String,
        expected: String,
        actual: String,
    },
    #[error("image {id} lists {layers} layers but its config has {diff_ids} diff ids")]
    LayerCount {
        id: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("unsupported digest {0}: only sha256 is supported")]
    UnsupportedDigest(String),
    #[error("unsupported media type {media_type} for {digest}")]
    UnsupportedMediaType { media_type: String, digest: String },
    #[error("index {0} has no manifest for linux/{arch}", arch = go_arch())]
    NoMatchingManifest(String),
    #[error("layer {member}: {source}")]
    Layer {
        member: String,
        #[source]
        source: ArchiveError,
    },
    #[error("the archive contains no image")]
    Empty,
}

/// One image added by a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// `sha256:<hex>` image id.
    pub id: String,
    /// `name:tag` references set by the load, sorted.
    pub tags: Vec<String>,
}

impl Loaded {
    /// Docker's lines: `Loaded image: name:tag` per tag, or `Loaded image ID: sha256:..`.
    pub fn messages(&self) -> Vec<String> {
        if self.tags.is_empty() {
            vec![format!("Loaded image ID: {}", self.id)]
        } else {
            self.tags
                .iter()
                .map(|t| format!("Loaded image: {t}"))
                .collect()
        }
    }
}

/// Where the archive comes from.
pub enum LoadSource<'a> {
    Path(&'a Path),
    Reader(&'a mut dyn Read),
}

impl LoadSource<'_> {
    fn describe(&self) -> String {
        match self {
            LoadSource::Path(path) => path.display().to_string(),
            LoadSource::Reader(_) => "stdin".to_owned(),
        }
    }
}

/// An image found in the archive, checked but not yet staged.
struct Planned {
    id: String,
    config: Vec<u8>,
    diff_ids: Vec<String>,
    tags: Vec<String>,
    /// Digest and bytes of the OCI manifest it came with.
    manifest: Option<(String, Vec<u8>)>,
    layers: Vec<PlannedLayer>,
}

struct PlannedLayer {
    /// Member name in the input.
    member: String,
    /// Blob digest and size the archive promises, when it names one.
    digest: Option<String>,
    size: Option<u64>,
}

/// A layer unpacked in the scratch dir.
struct Staged {
    dir: PathBuf,
    blob: PathBuf,
    record: LayerRecord,
}

/// Runs the load.
pub fn load(
    layout: &Layout,
    source: LoadSource<'_>,
    progress: &dyn Progress,
) -> Result<Vec<Loaded>> {
    let described = source.describe();
    let wrap = |reason: LoadError| ImageError::Load {
        source_name: described.clone(),
        reason,
    };
    let scratch = {
        let _lock = StoreLock::exclusive(&layout.lock_file())?;
        ScratchDir::create(&layout.tmp_dir())?
    };
    tracing::debug!(source = %described, "opening archive");
    let spill = scratch.path().join("archive.tar");
    let input = match source {
        LoadSource::Path(path) => input::open_path(path, &spill),
        LoadSource::Reader(reader) => input::open_reader(reader, &spill),
    }
    .map_err(wrap)?;

    let plan = plan(&input).map_err(wrap)?;
    if plan.is_empty() {
        return Err(wrap(LoadError::Empty));
    }
    tracing::debug!(images = plan.len(), "archive planned");
    let staged = stage(layout, &input, &plan, scratch.path(), progress).map_err(wrap)?;

    tracing::debug!("publishing loaded images");
    let _lock = StoreLock::exclusive(&layout.lock_file())?;
    let mut publish = Publish::begin(layout, scratch.path())?;
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut repositories = Repositories::load(layout)?;
    for image in &plan {
        for chain in chain_ids(&image.diff_ids) {
            let chain_hex = hex_part(&chain);
            if let Some(layer) = staged.get(chain_hex) {
                if !layout.layer_dir(chain_hex).exists() {
                    let moved = publish.layer(&layer.dir, chain_hex, &layer.record)?;
                    if let (true, Some(blob)) = (moved, &layer.record.blob) {
                        publish.blob_file(&layer.blob, hex_part(&blob.digest))?;
                    }
                }
            }
        }
        publish.blob_bytes(hex_part(&image.id), &image.config)?;
        let mut record = ImageRecord::default();
        if let Some((digest, bytes)) = &image.manifest {
            // An image keeps the first manifest it arrived with.
            let known = ImageRecord::read(layout, hex_part(&image.id))?
                .manifest
                .is_some();
            if !known {
                publish.blob_bytes(hex_part(digest), bytes)?;
                record.manifest = Some(digest.clone());
            }
        }
        publish.image(hex_part(&image.id), &record)?;
        for tag in &image.tags {
            repositories.set(tag.clone(), image.id.clone());
        }
        match loaded.iter_mut().find(|l| l.id == image.id) {
            Some(existing) => existing.tags.extend(image.tags.iter().cloned()),
            None => loaded.push(Loaded {
                id: image.id.clone(),
                tags: image.tags.clone(),
            }),
        }
    }
    if plan.iter().any(|image| !image.tags.is_empty()) {
        repositories.save(layout)?;
    }
    publish.commit();
    for image in &mut loaded {
        image.tags.sort();
        image.tags.dedup();
    }
    Ok(loaded)
}

/// Step 2: every image of the archive, with its config read and checked.
fn plan(input: &Input) -> Result<Vec<Planned>, LoadError> {
    if input.contains("manifest.json") {
        plan_docker(input)
    } else if input.contains("index.json") {
        plan_oci(input)
    } else {
        Err(LoadError::NotAnArchive)
    }
}

/// One entry of a docker-archive `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn plan_docker(input: &Input) -> Result<Vec<Planned>, LoadError> {
    let entries: Vec<DockerManifestEntry> = read_json(input, "manifest.json")?;
    let mut plan = Vec::new();
    for entry in entries {
        let config = input.read_small(&entry.config, JSON_LIMIT)?;
        let id = sha256_digest(&config);
        // Docker names the config by its digest (`<hex>.json` or `blobs/sha256/<hex>`).
        if let Some(hex) = digest_in_name(&entry.config) {
            check_digest(&entry.config, &format!("{SHA256_PREFIX}{hex}"), &id)?;
        }
        let diff_ids = diff_ids(&entry.config, &config)?;
        if diff_ids.len() != entry.layers.len() {
            return Err(LoadError::LayerCount {
                id,
                layers: entry.layers.len(),
                diff_ids: diff_ids.len(),
            });
        }
        let mut layers = Vec::new();
        for member in entry.layers {
            if !input.contains(&member) {
                return Err(LoadError::MissingBlob(member));
            }
            let digest = digest_in_name(&member).map(|hex| format!("{SHA256_PREFIX}{hex}"));
            layers.push(PlannedLayer {
                member,
                digest,
                size: None,
            });
        }
        let tags = entry
            .repo_tags
            .unwrap_or_default()
            .iter()
            .filter_map(|t| Reference::parse(t).ok().map(|r| r.to_string()))
            .collect();
        plan.push(Planned {
            id,
            config,
            diff_ids,
            tags,
            manifest: None,
            layers,
        });
    }
    Ok(plan)
}

/// An OCI descriptor (<https://github.com/opencontainers/image-spec/blob/main/descriptor.md>).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
struct Platform {
    architecture: String,
    os: String,
}

#[derive(Deserialize)]
struct IndexDoc {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    #[serde(default)]
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
    /// Present when the document is an index, which some writers put where a manifest goes.
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
const LAYER_TYPES: [&str; 7] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
];

fn plan_oci(input: &Input) -> Result<Vec<Planned>, LoadError> {
    let index: IndexDoc = read_json(input, "index.json")?;
    let mut plan = Vec::new();
    for top in &index.manifests {
        let manifest = resolve_manifest(input, top, 0)?;
        let (manifest_digest, manifest_bytes, doc) = manifest;
        let config = read_blob(input, &doc.config, JSON_LIMIT)?;
        let id = doc.config.digest.clone();
        let diff_ids = diff_ids(&blob_member(&doc.config.digest)?, &config)?;
        if diff_ids.len() != doc.layers.len() {
            return Err(LoadError::LayerCount {
                id,
                layers: doc.layers.len(),
                diff_ids: diff_ids.len(),
            });
        }
        let mut layers = Vec::new();
        for layer in &doc.layers {
            if let Some(media_type) = &layer.media_type {
                if !LAYER_TYPES.contains(&media_type.as_str()) {
                    return Err(LoadError::UnsupportedMediaType {
                        media_type: media_type.clone(),
                        digest: layer.digest.clone(),
                    });
                }
            }
            let member = blob_member(&layer.digest)?;
            if !input.contains(&member) {
                return Err(LoadError::MissingBlob(member));
            }
            layers.push(PlannedLayer {
                member,
                digest: Some(layer.digest.clone()),
                size: Some(layer.size),
            });
        }
        plan.push(Planned {
            id,
            config,
            diff_ids,
            tags: oci_tags(top),
            manifest: Some((manifest_digest, manifest_bytes)),
            layers,
        });
    }
    Ok(plan)
}

/// Follows `descriptor` (a manifest, or an index whose linux/<arch> manifest is taken) to a
/// manifest; returns its digest, bytes and parsed form.
fn resolve_manifest(
    input: &Input,
    descriptor: &Descriptor,
    depth: usize,
) -> Result<(String, Vec<u8>, ManifestDoc), LoadError> {
    let media_type = descriptor.media_type.as_deref().unwrap_or_default();
    let bytes = read_blob(input, descriptor, JSON_LIMIT)?;
    let is_index = INDEX_TYPES.contains(&media_type)
        || (media_type.is_empty()
            && serde_json::from_slice::<serde_json::Value>(&bytes)
                .is_ok_and(|v| v.get("manifests").is_some()));
    if is_index {
        if depth > 4 {
            return Err(LoadError::NoMatchingManifest(descriptor.digest.clone()));
        }
        let index: IndexDoc = parse_json(&descriptor.digest, &bytes)?;
        let choice = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == go_arch())
            })
            .or(match index.manifests.as_slice() {
                [only] => Some(only),
                _ => None,
            })
            .ok_or_else(|| LoadError::NoMatchingManifest(descriptor.digest.clone()))?;
        return resolve_manifest(input, choice, depth + 1);
    }
    if !media_type.is_empty() && !MANIFEST_TYPES.contains(&media_type) {
        return Err(LoadError::UnsupportedMediaType {
            media_type: media_type.to_owned(),
            digest: descriptor.digest.clone(),
        });
    }
    let doc: ManifestDoc = parse_json(&descriptor.digest, &bytes)?;
    if doc.manifests.is_some() {
        return Err(LoadError::UnsupportedMediaType {
            media_type: doc.media_type.unwrap_or_else(|| "index".to_owned()),
            digest: descriptor.digest.clone(),
        });
    }
    Ok((descriptor.digest.clone(), bytes, doc))
}

/// The names an OCI index entry gives its image: containerd's full name, else the OCI ref
/// name when it is a full reference (a bare tag such as `latest` names no repository).
fn oci_tags(descriptor: &Descriptor) -> Vec<String> {
    let Some(annotations) = &descriptor.annotations else {
        return Vec::new();
    };
    let name = annotations
        .get(ANNOTATION_CONTAINERD_NAME)
        .or_else(|| {
            annotations
                .get(ANNOTATION_REF_NAME)
                .filter(|n| n.contains('/') || n.contains(':'))
        })
        .and_then(|n| Reference::parse(n).ok());
    name.map(|r| vec![r.to_string()]).unwrap_or_default()
}

/// Step 3: unpacks every layer that is neither in the store nor staged already.
fn stage(
    layout: &Layout,
    input: &Input,
    plan: &[Planned],
    scratch: &Path,
    progress: &dyn Progress,
) -> Result<HashMap<String, Staged>, LoadError> {
    let options = UnpackOptions::layer(AbsolutePaths::Refuse);
    let mut staged: HashMap<String, Staged> = HashMap::new();
    for image in plan {
        let chains = chain_ids(&image.diff_ids);
        for (i, layer) in image.layers.iter().enumerate() {
            let expected_diff = &image.diff_ids[i];
            let chain_hex = hex_part(&chains[i]).to_owned();
            let id = short_id(expected_diff);
            if staged.contains_key(&chain_hex) || layout.layer_dir(&chain_hex).exists() {
                progress.layer(LayerProgress::Skipped { id });
                continue;
            }
            let member = input.open(&layer.member)?;
            if let Some(expected) = layer.size {
                if expected != member.size {
                    return Err(LoadError::SizeMismatch {
                        member: layer.member.clone(),
                        expected,
                        actual: member.size,
                    });
                }
            }
            progress.layer(LayerProgress::Started {
                id,
                total: Some(member.size),
            });
            let dir = scratch.join("layers").join(&chain_hex);
            let blob = scratch.join(format!("blob-{chain_hex}"));
            let mut report = |done| progress.layer(LayerProgress::Advanced { id, done });
            let unpacked = stage_layer(
                member.reader,
                &layer_diff(&dir),
                Some(&blob),
                &options,
                &mut report,
            )
            .map_err(|source| LoadError::Layer {
                member: layer.member.clone(),
                source,
            })?;
            if let Some(expected) = &layer.digest {
                check_digest(&layer.member, expected, &unpacked.blob_digest)?;
            }
            if &unpacked.diff_id != expected_diff {
                return Err(LoadError::DiffIdMismatch {
                    member: layer.member.clone(),
                    expected: expected_diff.clone(),
                    actual: unpacked.diff_id,
                });
            }
            progress.layer(LayerProgress::Finished { id });
            let record = LayerRecord {
                diff_id: unpacked.diff_id.clone(),
                parent: (i > 0).then(|| chains[i - 1].clone()),
                size: unpacked.size,
                tar_size: Some(unpacked.tar_size),
                blob: Some(BlobRef {
                    digest: unpacked.blob_digest.clone(),
                    media_type: unpacked.compression.oci_media_type().to_owned(),
                    size: unpacked.blob_size,
                }),
            };
            staged.insert(chain_hex, Staged { dir, blob, record });
        }
    }
    Ok(staged)
}

/// Reads a blob of an OCI layout by descriptor, checking its size and digest.
fn read_blob(input: &Input, descriptor: &Descriptor, limit: u64) -> Result<Vec<u8>, LoadError> {
    let member = blob_member(&descriptor.digest)?;
    let data = input.read_small(&member, limit)?;
    if data.len() as u64 != descriptor.size {
        return Err(LoadError::SizeMismatch {
            member,
            expected: descriptor.size,
            actual: data.len() as u64,
        });
    }
    check_digest(&member, &descriptor.digest, &sha256_digest(&data))?;
    Ok(data)
}

/// `blobs/sha256/<hex>` for a digest, refusing other algorithms and malformed hex.
fn blob_member(digest: &str) -> Result<String, LoadError> {
    let hex = digest
        .strip_prefix(SHA256_PREFIX)
        .filter(|h| h.len() == 64 && is_lower_hex(h))
        .ok_or_else(|| LoadError::UnsupportedDigest(digest.to_owned()))?;
    Ok(format!("blobs/sha256/{hex}"))
}

/// The 64-hex digest a docker-archive member name carries (`<hex>.json`,
/// `blobs/sha256/<hex>`), if any. Old-style `<id>/layer.tar` names carry none.
fn digest_in_name(member: &str) -> Option<&str> {
    let base = member.rsplit('/').next()?;
    let hex = base.strip_suffix(".json").unwrap_or(base);
    let in_blobs = member.trim_start_matches("./").starts_with("blobs/sha256/");
    (hex.len() == 64 && is_lower_hex(hex) && (in_blobs || base.ends_with(".json"))).then_some(hex)
}

fn check_digest(member: &str, expected: &str, actual: &str) -> Result<(), LoadError> {
    if expected == actual {
        Ok(())
    } else {
        Err(LoadError::DigestMismatch {
            member: member.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        })
    }
}

/// `rootfs.diff_ids` of a config, each checked to be a sha256 digest.
fn diff_ids(member: &str, config: &[u8]) -> Result<Vec<String>, LoadError> {
    #[derive(Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    #[derive(Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<String>,
    }
    let config: Config = parse_json(member, config)?;
    for diff_id in &config.rootfs.diff_ids {
        blob_member(diff_id)?;
    }
    Ok(config.rootfs.diff_ids)
}

fn read_json<T: serde::de::DeserializeOwned>(input: &Input, member: &str) -> Result<T, LoadError> {
    let data = input.read_small(member, JSON_LIMIT)?;
    parse_json(member, &data)
}

fn parse_json<T: serde::de::DeserializeOwned>(member: &str, data: &[u8]) -> Result<T, LoadError> {
    serde_json::from_slice(data).map_err(|source| LoadError::Json {
        member: member.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_in_docker_member_names() {
        let hex = "a".repeat(64);
        assert_eq!(digest_in_name(&format!("{hex}.json")), Some(hex.as_str()));
        assert_eq!(
            digest_in_name(&format!("blobs/sha256/{hex}")),
            Some(hex.as_str())
        );
        assert_eq!(digest_in_name(&format!("{hex}/layer.tar")), None);
        assert_eq!(digest_in_name("manifest.json"), None);
    }

    #[test]
    fn blob_members_refuse_odd_digests() {
        assert!(blob_member("sha512:00").is_err());
        assert!(blob_member("sha256:../../etc/passwd").is_err());
        assert!(blob_member(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
