//! `mydocker save`: images to a docker-archive (what `docker save` writes) or an OCI archive
//! (<https://docs.docker.com/reference/cli/docker/image/save/>).
//!
//! Both are tars written front to back to any `Write` (a file, or stdout):
//!
//! ```text
//! docker-archive                            oci-archive
//! blobs/sha256/<config>                     oci-layout
//! blobs/sha256/<diff id>  (uncompressed)    blobs/sha256/<config>
//! manifest.json  [{Config,RepoTags,Layers}] blobs/sha256/<layer blob>  (as stored)
//! repositories   {"name":{"tag":"<id>"}}    blobs/sha256/<manifest>
//!                                           index.json  (one entry per tag)
//! ```
//!
//! The config blob is written byte for byte, so the image id survives the round trip; layers
//! keep their diff ids. docker-archive layers are uncompressed tars named by their diff id,
//! as Docker and skopeo write them (a stored compressed blob is decompressed on the way). An
//! OCI archive carries each layer blob as it arrived, and the manifest the image was loaded
//! with when every blob it names is in the store, so even the manifest digest survives.
//! The whole save holds the store lock shared, so no blob goes away half way.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use serde_json::json;

use crate::archive::{decompressed, Compression};
use crate::digest::{chain_ids, hex_part, SHA256_PREFIX};
use crate::error::{ImageError, Result};
use crate::layer::{BlobRef, LayerRecord};
use crate::layout::Layout;
use crate::progress::{short_id, LayerProgress, Progress};
use crate::record::ImageRecord;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The archive format `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveFormat {
    /// `docker save`'s format: loads in `docker load`, `podman load`, skopeo `docker-archive:`.
    #[default]
    DockerArchive,
    /// A tar of an OCI image layout: `podman load`, skopeo `oci-archive:`, containerd.
    OciArchive,
}

/// One image to save, resolved under the store lock.
pub struct SaveImage {
    pub id: String,
    /// Tags to record for it (empty when it was named by id).
    pub tags: Vec<String>,
    pub config: Vec<u8>,
    pub diff_ids: Vec<String>,
    pub record: ImageRecord,
}

/// Writes `images` to `out`. The caller holds the store lock shared.
pub fn write_archive(
    layout: &Layout,
    images: &[SaveImage],
    format: SaveFormat,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    let result = match format {
        SaveFormat::DockerArchive => write_docker(layout, images, &mut tar, progress),
        SaveFormat::OciArchive => write_oci(layout, images, &mut tar, progress),
    };
    result?;
    tar.finish().map_err(write_err)?;
    Ok(())
}

fn write_docker(
    layout: &Layout,
    images: &[SaveImage],
    tar: &mut tar::Builder<&mut dyn Write>,
    progress: &dyn Progress,
) -> Result<()> {
    let mut written: HashSet<String> = HashSet::new();
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for image in images {
        let config_member = format!("blobs/sha256/{}", hex_part(&image.id));
        if written.insert(config_member.clone()) {
            append_bytes(tar, &config_member, &image.config)?;
        }
        let mut layers = Vec::new();
        for (diff_id, chain) in image.diff_ids.iter().zip(chain_ids(&image.diff_ids)) {
            let member = format!("blobs/sha256/{}", hex_part(diff_id));
            if written.insert(member.clone()) {
                let record = LayerRecord::read(layout, hex_part(&chain))?;
                let (blob, tar_size) = stored_blob(&record, &chain)?;
                let id = short_id(diff_id);
                progress.layer(LayerProgress::Started {
                    id,
                    total: Some(tar_size),
                });
                let path = layout.blob(hex_part(&blob.digest));
                let file = File::open(&path)
                    .map_err(|e| ImageError::io("opening layer blob", &path, e))?;
                let reader: Box<dyn Read> = if compression_of(blob) == Compression::None {
                    Box::new(BufReader::with_capacity(1 << 20, file))
                } else {
                    decompressed(BufReader::with_capacity(1 << 20, file)).map_err(|e| {
                        ImageError::io("decompressing layer blob", &path, io::Error::other(e))
                    })?
                };
                append_reader(tar, &member, tar_size, reader, &path, |done| {
                    progress.layer(LayerProgress::Advanced { id, done })
                })?;
                progress.layer(LayerProgress::Finished { id });
            }
            layers.push(member);
        }
        for tag in &image.tags {
            if let Some((repo, t)) = tag.rsplit_once(':') {
                repositories
                    .entry(repo.to_owned())
                    .or_default()
                    .insert(t.to_owned(), hex_part(&image.id).to_owned());
            }
        }
        // Fully qualified, as skopeo writes them: `docker load` shows them in familiar form,
        // and podman would otherwise file a short name under `localhost/`.
        let tags = if image.tags.is_empty() {
            serde_json::Value::Null
        } else {
            json!(image.tags.iter().map(|t| full_name(t)).collect::<Vec<_>>())
        };
        manifest.push(json!({"Config": config_member, "RepoTags": tags, "Layers": layers}));
    }
    let manifest = serde_json::to_vec(&manifest).map_err(json_err)?;
    append_bytes(tar, "manifest.json", &manifest)?;
    if !repositories.is_empty() {
        let repositories = serde_json::to_vec(&repositories).map_err(json_err)?;
        append_bytes(tar, "repositories", &repositories)?;
    }
    Ok(())
}

fn write_oci(
    layout: &Layout,
    images: &[SaveImage],
    tar: &mut tar::Builder<&mut dyn Write>,
    progress: &dyn Progress,
) -> Result<()> {
    append_bytes(tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut written: HashSet<String> = HashSet::new();
    let mut index = Vec::new();
    for image in images {
        let config_member = format!("blobs/sha256/{}", hex_part(&image.id));
        if written.insert(config_member.clone()) {
            append_bytes(tar, &config_member, &image.config)?;
        }
        let (manifest, blobs) = oci_manifest(layout, image)?;
        for blob in &blobs {
            let member = format!("blobs/sha256/{}", hex_part(&blob.digest));
            if !written.insert(member.clone()) {
                continue;
            }
            let id = short_id(&blob.digest);
            progress.layer(LayerProgress::Started {
                id,
                total: Some(blob.size),
            });
            let path = layout.blob(hex_part(&blob.digest));
            let file =
                File::open(&path).map_err(|e| ImageError::io("opening layer blob", &path, e))?;
            append_reader(
                tar,
                &member,
                blob.size,
                BufReader::with_capacity(1 << 20, file),
                &path,
                |done| progress.layer(LayerProgress::Advanced { id, done }),
            )?;
            progress.layer(LayerProgress::Finished { id });
        }
        let digest = crate::digest::sha256_digest(&manifest);
        let member = format!("blobs/sha256/{}", hex_part(&digest));
        if written.insert(member.clone()) {
            append_bytes(tar, &member, &manifest)?;
        }
        let descriptor = |annotations: Option<serde_json::Value>| {
            let mut d =
                json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len()});
            if let Some(a) = annotations {
                d["annotations"] = a;
            }
            d
        };
        if image.tags.is_empty() {
            index.push(descriptor(None));
        }
        for tag in &image.tags {
            let full = full_name(tag);
            index.push(descriptor(Some(json!({
                "io.containerd.image.name": full,
                "org.opencontainers.image.ref.name": full,
            }))));
        }
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index});
    let index = serde_json::to_vec(&index).map_err(json_err)?;
    append_bytes(tar, "index.json", &index)?;
    Ok(())
}

/// The manifest to write for `image` and the layer blobs it names: the stored one when all
/// its blobs are here, otherwise one built from the layers' stored blobs.
fn oci_manifest(layout: &Layout, image: &SaveImage) -> Result<(Vec<u8>, Vec<BlobRef>)> {
    if let Some(digest) = &image.record.manifest {
        if let Some(found) = stored_manifest(layout, digest) {
            return Ok(found);
        }
    }
    let mut blobs = Vec::new();
    for chain in chain_ids(&image.diff_ids) {
        let record = LayerRecord::read(layout, hex_part(&chain))?;
        blobs.push(stored_blob(&record, &chain)?.0.clone());
    }
    let layers: Vec<serde_json::Value> = blobs
        .iter()
        .map(|b| json!({"mediaType": b.media_type, "digest": b.digest, "size": b.size}))
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": image.id, "size": image.config.len()},
        "layers": layers,
    });
    Ok((serde_json::to_vec(&manifest).map_err(json_err)?, blobs))
}

/// A stored manifest and its layer blobs, if the manifest and every blob are in the store.
fn stored_manifest(layout: &Layout, digest: &str) -> Option<(Vec<u8>, Vec<BlobRef>)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        layers: Vec<Desc>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Desc {
        media_type: String,
        digest: String,
        size: u64,
    }
    let bytes = fs::read(layout.blob(hex_part(digest))).ok()?;
    let doc: Doc = serde_json::from_slice(&bytes).ok()?;
    let mut blobs = Vec::new();
    for layer in doc.layers {
        let meta = fs::metadata(layout.blob(hex_part(&layer.digest))).ok()?;
        if meta.len() != layer.size {
            return None;
        }
        blobs.push(BlobRef {
            digest: layer.digest,
            media_type: layer.media_type,
            size: layer.size,
        });
    }
    Some((bytes, blobs))
}

/// The kept blob of a layer and its uncompressed tar size.
fn stored_blob<'r>(record: &'r LayerRecord, chain: &str) -> Result<(&'r BlobRef, u64)> {
    match (&record.blob, record.tar_size) {
        (Some(blob), Some(size)) => Ok((blob, size)),
        _ => Err(ImageError::LayerBlobMissing {
            chain_id: chain.to_owned(),
        }),
    }
}

fn compression_of(blob: &BlobRef) -> Compression {
    if blob.media_type.ends_with("+gzip") || blob.media_type.ends_with(".gzip") {
        Compression::Gzip
    } else if blob.media_type.ends_with("+zstd") {
        Compression::Zstd
    } else {
        Compression::None
    }
}

fn full_name(tag: &str) -> String {
    crate::reference::Reference::parse(tag)
        .map(|r| r.full_name())
        .unwrap_or_else(|_| tag.to_owned())
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size);
    header
}

fn append_bytes(tar: &mut tar::Builder<&mut dyn Write>, name: &str, data: &[u8]) -> Result<()> {
    let mut header = header(data.len() as u64);
    tar.append_data(&mut header, name, data).map_err(write_err)
}

/// Appends exactly `size` bytes from `reader`; a blob shorter or longer than its record
/// says is an error (the store is damaged), not a corrupt archive.
fn append_reader(
    tar: &mut tar::Builder<&mut dyn Write>,
    name: &str,
    size: u64,
    reader: impl Read,
    path: &Path,
    progress: impl FnMut(u64),
) -> Result<()> {
    let mut header = header(size);
    let mut exact = Exact {
        inner: reader,
        left: size,
        done: 0,
        progress,
    };
    tar.append_data(&mut header, name, &mut exact)
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => ImageError::io("reading layer blob", path, e),
            _ => write_err(e),
        })?;
    let mut extra = [0u8; 1];
    match exact.inner.read(&mut extra) {
        Ok(0) => Ok(()),
        Ok(_) => Err(ImageError::io(
            "reading layer blob",
            path,
            io::Error::other("blob is longer than its layer record says"),
        )),
        Err(e) => Err(ImageError::io("reading layer blob", path, e)),
    }
}

struct Exact<R, P> {
    inner: R,
    left: u64,
    done: u64,
    progress: P,
}

impl<R: Read, P: FnMut(u64)> Read for Exact<R, P> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob is shorter than its layer record says",
            ));
        }
        self.left -= n as u64;
        self.done += n as u64;
        (self.progress)(self.done);
        Ok(n)
    }
}

fn write_err(e: io::Error) -> ImageError {
    ImageError::io("writing archive", "<output>", e)
}

fn json_err(e: serde_json::Error) -> ImageError {
    ImageError::json("encoding archive metadata", "<output>", e)
}

/// Builds the [`SaveImage`] of image `hex` with `tags`.
pub fn save_image(layout: &Layout, hex: &str, tags: Vec<String>) -> Result<SaveImage> {
    let path = layout.blob(hex);
    let config = fs::read(&path).map_err(|e| ImageError::io("reading image config", &path, e))?;
    #[derive(serde::Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    #[derive(serde::Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<String>,
    }
    let parsed: Config = serde_json::from_slice(&config)
        .map_err(|e| ImageError::json("parsing image config", &path, e))?;
    Ok(SaveImage {
        id: format!("{SHA256_PREFIX}{hex}"),
        tags,
        config,
        diff_ids: parsed.rootfs.diff_ids,
        record: ImageRecord::read(layout, hex)?,
    })
}
