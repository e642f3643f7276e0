//! Layer archives: reading a (possibly compressed) layer tar while hashing it and unpacking it
//! into a layer directory, and packing a directory into a tar.
//!
//! A layer arrives as a *blob*: a tar, or a gzip or zstd compressed tar. Two digests are taken
//! in the same single pass ([`stage_layer`]): the blob digest (what manifests name) over the raw
//! bytes, and the diff id (what the image config names) over the uncompressed tar, to its very
//! end (including padding after the end-of-archive marker). The raw bytes can be kept as a blob
//! file on the way, so `save` can emit the layer byte for byte. Compression is detected from
//! magic bytes, never from a file name or media type.
//!
//! Unpacking itself is in [`crate::unpack`]: it never leaves the destination and refuses
//! archives that try to.

use std::error::Error as StdError;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest as _, Sha256};
use tar::{Archive, Builder, HeaderMode};
use thiserror::Error;

use crate::digest::{HashingReader, SHA256_PREFIX};
use crate::special;
use crate::unpack::{unpack_entries, UnpackOptions};
use crate::whiteout;

/// Why a layer archive could not be read, unpacked or built.
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("cannot open source: {}", chain(.0))]
    Open(#[source] io::Error),
    #[error("source is empty")]
    Empty,
    #[error("unsupported compression {0}: only uncompressed tar, gzip and zstd are supported")]
    UnsupportedCompression(&'static str),
    #[error("reading archive: {}", root_cause(.0))]
    Read(#[source] io::Error),
    #[error("unexpected end of archive (truncated, or not a tar file)")]
    Truncated,
    #[error("archive entry {} refused: {reason}", entry.display())]
    UnsafeEntry {
        entry: PathBuf,
        reason: UnsafeReason,
    },
    #[error("unpacking entry {}: {}", entry.display(), root_cause(source))]
    Unpack {
        entry: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("archiving {}: {}", path.display(), chain(source))]
    Pack {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing blob {}: {}", path.display(), chain(source))]
    WriteBlob {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Why an entry of a layer tar was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsafeReason {
    /// A `..` component.
    ParentDir,
    /// A name starting with `/` in a layer of a loaded image.
    Absolute,
    /// A parent component is a symlink (or not a directory) inside the layer.
    ThroughLink(PathBuf),
    /// A hard link whose target is not an entry of the same layer.
    LinkOutside,
    /// A block or character device where devices are not allowed.
    Device,
}

impl std::fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnsafeReason::ParentDir => f.write_str("path contains '..'"),
            UnsafeReason::Absolute => f.write_str("absolute path"),
            UnsafeReason::ThroughLink(through) => write!(
                f,
                "parent {} is a symlink or not a directory; writing through it could escape the layer",
                through.display()
            ),
            UnsafeReason::LinkOutside => {
                f.write_str("hard link target is not an earlier entry of this layer")
            }
            UnsafeReason::Device => {
                f.write_str("device nodes are only unpacked when running as root")
            }
        }
    }
}

/// What unpacking produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// `sha256:<hex>` of the uncompressed tar stream.
    pub diff_id: String,
    /// Sum of the sizes of the regular files in the layer.
    pub size: u64,
    /// Length of the uncompressed tar stream.
    pub tar_size: u64,
    /// `sha256:<hex>` of the raw (possibly compressed) bytes read.
    pub blob_digest: String,
    /// Length of the raw bytes read.
    pub blob_size: u64,
    /// How the raw bytes were compressed.
    pub compression: Compression,
}

/// Compression of a layer blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The OCI media type of a layer blob with this compression.
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// Unpacks the tar, tar.gz or tar.zst at `source` into `dest` (created if missing),
/// refusing absolute names. No blob is kept.
#[cfg(test)]
pub fn unpack_layer(source: &Path, dest: &Path) -> Result<Unpacked, ArchiveError> {
    let file = File::open(source).map_err(ArchiveError::Open)?;
    let options = UnpackOptions::layer(crate::unpack::AbsolutePaths::Refuse);
    stage_layer(file, dest, None, &options, &mut |_| {})
}

/// Reads one layer blob from `raw`: copies it to `blob_out` (when given), decompresses it,
/// unpacks it into `dest` (created if missing) and returns both digests. `progress` is called
/// with the raw bytes read so far.
pub fn stage_layer(
    raw: impl Read,
    dest: &Path,
    blob_out: Option<&Path>,
    options: &UnpackOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Unpacked, ArchiveError> {
    let blob_file = match blob_out {
        Some(path) => Some(BufWriter::with_capacity(
            1 << 20,
            File::create(path).map_err(|source| ArchiveError::WriteBlob {
                path: path.to_path_buf(),
                source,
            })?,
        )),
        None => None,
    };
    let mut tee = Tee {
        inner: BufReader::with_capacity(1 << 20, raw),
        copy: blob_file,
        hasher: Sha256::new(),
        bytes: 0,
        progress,
    };
    let (compression, magic) = sniff(&mut tee)?;
    fs::create_dir_all(dest).map_err(|source| ArchiveError::Unpack {
        entry: PathBuf::from("."),
        source,
    })?;
    let head = io::Cursor::new(magic);
    let (unpacked, tar_size, diff_id) = {
        let stream = head.chain(&mut tee);
        let reader: Box<dyn Read + '_> = match compression {
            Compression::None => Box::new(stream),
            Compression::Gzip => Box::new(MultiGzDecoder::new(stream)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(BufReader::new(stream))
                    .map_err(ArchiveError::Read)?,
            ),
        };
        let mut archive = Archive::new(HashingReader::new(reader));
        let unpacked = unpack_entries(&mut archive, dest, options);
        let reader = archive.into_inner();
        let size = match unpacked {
            Ok(size) => size,
            // Ran out of data in the middle of an entry: say so rather than "failed to write".
            Err(ArchiveError::Read(_) | ArchiveError::Unpack { .. }) if reader.reached_eof() => {
                return Err(ArchiveError::Truncated)
            }
            Err(err) => return Err(err),
        };
        let (diff_id, tar_size) = reader.finish().map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                ArchiveError::Truncated
            } else {
                ArchiveError::Read(e)
            }
        })?;
        (size, tar_size, diff_id)
    };
    // Whatever follows the compressed stream is part of the blob too.
    io::copy(&mut tee, &mut io::sink()).map_err(ArchiveError::Read)?;
    let Tee {
        copy,
        hasher,
        bytes,
        ..
    } = tee;
    if let (Some(mut copy), Some(path)) = (copy, blob_out) {
        copy.flush().map_err(|source| ArchiveError::WriteBlob {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(Unpacked {
        diff_id,
        size: unpacked,
        tar_size,
        blob_digest: format!("{SHA256_PREFIX}{}", hex::encode(hasher.finalize())),
        blob_size: bytes,
        compression,
    })
}

/// Hashes, counts and optionally copies every byte read through it.
struct Tee<'p, R> {
    inner: R,
    copy: Option<BufWriter<File>>,
    hasher: Sha256,
    bytes: u64,
    progress: &'p mut dyn FnMut(u64),
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Some(copy) = &mut self.copy {
            copy.write_all(&buf[..n])?;
        }
        self.bytes += n as u64;
        if n > 0 {
            (self.progress)(self.bytes);
        }
        Ok(n)
    }
}

/// Reads the first bytes (<https://en.wikipedia.org/wiki/List_of_file_signatures>) and
/// returns them with the compression they announce.
fn sniff(reader: &mut impl Read) -> Result<(Compression, Vec<u8>), ArchiveError> {
    let mut magic = vec![0u8; 6];
    let mut read = 0;
    while read < magic.len() {
        match reader.read(&mut magic[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::Read(e)),
        }
    }
    magic.truncate(read);
    Ok((detect_compression(&magic)?, magic))
}

/// The compression announced by the first bytes of a blob.
pub fn detect_compression(magic: &[u8]) -> Result<Compression, ArchiveError> {
    match magic {
        [] => Err(ArchiveError::Empty),
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        [b'B', b'Z', b'h', ..] => Err(ArchiveError::UnsupportedCompression("bzip2")),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00] => Err(ArchiveError::UnsupportedCompression("xz")),
        _ => Ok(Compression::None),
    }
}

/// A reader that decompresses `raw` according to its magic bytes.
pub fn decompressed<'a>(raw: impl Read + 'a) -> Result<Box<dyn Read + 'a>, ArchiveError> {
    let mut raw = BufReader::new(raw);
    let (compression, magic) = sniff(&mut raw)?;
    let stream = io::Cursor::new(magic).chain(raw);
    Ok(match compression {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(MultiGzDecoder::new(stream)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(BufReader::new(stream))
                .map_err(ArchiveError::Read)?,
        ),
    })
}

/// Writes a tar of the contents of `dir` to `out`: entries relative to `dir`, in sorted order,
/// symlinks stored as links (never followed), modes, owners and mtimes kept. Sockets are
/// skipped, as GNU tar does; hard links are stored as separate files.
///
/// With [`PackMode::OverlayUpper`] the directory is a container's overlayfs upper dir and its
/// whiteouts are written in OCI form (see [`crate::whiteout`]).
pub fn pack_directory(dir: &Path, out: &Path, mode: PackMode) -> Result<(), ArchiveError> {
    let meta = fs::metadata(dir).map_err(ArchiveError::Open)?;
    if !meta.is_dir() {
        return Err(ArchiveError::Open(io::Error::from(
            io::ErrorKind::NotADirectory,
        )));
    }
    let file = File::create(out).map_err(pack_err(out))?;
    let mut builder = Builder::new(BufWriter::new(file));
    builder.follow_symlinks(false);
    builder.mode(HeaderMode::Complete);
    pack_children(&mut builder, dir, Path::new(""), mode)?;
    builder
        .into_inner()
        .and_then(|w| w.into_inner().map_err(io::IntoInnerError::into_error))
        .map_err(pack_err(out))?;
    Ok(())
}

/// How [`pack_directory`] treats overlayfs whiteouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackMode {
    /// Every node as it is (`import` of a directory).
    Plain,
    /// 0/0 char devices become `.wh.NAME`, opaque directories get `.wh..wh..opq` (`commit`).
    OverlayUpper,
}

/// Appends the entries below `dir/rel` in sorted, depth-first order.
fn pack_children<W: io::Write>(
    builder: &mut Builder<W>,
    dir: &Path,
    rel: &Path,
    mode: PackMode,
) -> Result<(), ArchiveError> {
    let full = dir.join(rel);
    let mut children: Vec<PathBuf> = fs::read_dir(&full)
        .and_then(|entries| {
            entries
                .map(|e| e.map(|e| rel.join(e.file_name())))
                .collect()
        })
        .map_err(pack_err(&full))?;
    children.sort();
    for child in children {
        let path = dir.join(&child);
        let meta = fs::symlink_metadata(&path).map_err(pack_err(&path))?;
        let file_type = meta.file_type();
        if file_type.is_socket() {
            continue;
        }
        if mode == PackMode::OverlayUpper && whiteout::is_overlay_whiteout(&meta) {
            let mut name = std::ffi::OsString::from(whiteout::WHITEOUT_PREFIX);
            name.push(child.file_name().unwrap_or_default());
            append_marker(builder, &rel.join(name), &meta).map_err(pack_err(&path))?;
            continue;
        }
        if file_type.is_fifo() || file_type.is_char_device() || file_type.is_block_device() {
            special::append(builder, &child, &meta).map_err(pack_err(&path))?;
            continue;
        }
        builder
            .append_path_with_name(&path, &child)
            .map_err(pack_err(&path))?;
        if file_type.is_dir() {
            if mode == PackMode::OverlayUpper
                && whiteout::is_opaque(&path).map_err(pack_err(&path))?
            {
                append_marker(builder, &child.join(whiteout::OPAQUE_MARKER), &meta)
                    .map_err(pack_err(&path))?;
            }
            pack_children(builder, dir, &child, mode)?;
        }
    }
    Ok(())
}

/// An empty regular file entry (an OCI whiteout or opaque marker), owned by root, with the
/// mtime of the node it stands for.
fn append_marker<W: io::Write>(
    builder: &mut Builder<W>,
    name: &Path,
    meta: &fs::Metadata,
) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(0);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
    builder.append_data(&mut header, name, io::empty())
}

fn pack_err(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError {
    let path = path.to_path_buf();
    move |source| ArchiveError::Pack { path, source }
}

/// The innermost cause: the `tar` crate wraps it in messages that repeat scratch paths.
fn root_cause(err: &dyn StdError) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Joins an error and its sources into one line, skipping repeats.
fn chain(err: &dyn StdError) -> String {
    let mut message = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        next = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    use tar::{EntryType, Header};

    /// A GNU header with its numeric fields filled, as real archivers write them.
    fn test_header() -> Header {
        let mut header = Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_000_000);
        header
    }

    fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = test_header();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(EntryType::Regular);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn unpack_hashes_the_whole_uncompressed_stream() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_with(&[("a/b.txt", b"hello")]);
        let src = dir.path().join("layer.tar");
        fs::write(&src, &tar).unwrap();
        let out = unpack_layer(&src, &dir.path().join("out")).unwrap();
        assert_eq!(out.diff_id, crate::digest::sha256_digest(&tar));
        assert_eq!(out.size, 5);
        assert_eq!(fs::read(dir.path().join("out/a/b.txt")).unwrap(), b"hello");
    }

    #[test]
    fn parent_components_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // `Header::set_path` refuses `..`, so write the name bytes directly.
        let mut header = test_header();
        header.as_gnu_mut().unwrap().name[..8].copy_from_slice(b"../evil\0");
        header.set_size(4);
        header.set_mode(0o644);
        header.set_entry_type(EntryType::Regular);
        header.set_cksum();
        let mut builder = Builder::new(Vec::new());
        builder.append(&header, &b"evil"[..]).unwrap();
        let src = dir.path().join("evil.tar");
        fs::write(&src, builder.into_inner().unwrap()).unwrap();
        let dest = dir.path().join("x/out");
        let err = unpack_layer(&src, &dest).unwrap_err();
        assert!(matches!(err, ArchiveError::UnsafeEntry { .. }), "{err}");
        assert!(!dir.path().join("x/evil").exists());
    }

    #[test]
    fn symlinked_parent_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let mut builder = Builder::new(Vec::new());
        let mut link = test_header();
        link.set_entry_type(EntryType::Symlink);
        link.set_size(0);
        builder.append_link(&mut link, "escape", &outside).unwrap();
        let mut file = test_header();
        file.set_size(4);
        file.set_mode(0o644);
        builder
            .append_data(&mut file, "escape/pwned", &b"evil"[..])
            .unwrap();
        let src = dir.path().join("link.tar");
        fs::write(&src, builder.into_inner().unwrap()).unwrap();
        assert!(unpack_layer(&src, &dir.path().join("out")).is_err());
        assert!(!outside.join("pwned").exists());
    }

    #[test]
    fn compression_is_detected_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 3] = [
            (b"", "source is empty"),
            (b"BZh91AY&SY", "unsupported compression bzip2"),
            (
                &[0xfd, b'7', b'z', b'X', b'Z', 0, 1],
                "unsupported compression xz",
            ),
        ];
        for (bytes, expected) in cases {
            let src = dir.path().join("src");
            fs::write(&src, bytes).unwrap();
            let err = unpack_layer(&src, &dir.path().join("out")).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{err}");
        }
    }

    #[test]
    fn pack_directory_keeps_links_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("bin")).unwrap();
        fs::write(src.join("bin/tool"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("/etc/passwd", src.join("passwd")).unwrap();
        nix::unistd::mkfifo(
            &src.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        nix::sys::stat::mknod(
            &src.join("null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        let tar = dir.path().join("out.tar");
        pack_directory(&src, &tar, PackMode::Plain).unwrap();
        let out = dir.path().join("out");
        unpack_layer(&tar, &out).unwrap();
        let mode = fs::metadata(out.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            fs::read_link(out.join("passwd")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert!(fs::symlink_metadata(out.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        let null = fs::symlink_metadata(out.join("null")).unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!(null.rdev(), nix::sys::stat::makedev(1, 3));
        let source_mode = fs::metadata(src.join("null")).unwrap().permissions().mode();
        assert_eq!(null.permissions().mode(), source_mode);
        let names: Vec<String> = Archive::new(File::open(&tar).unwrap())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["bin", "bin/tool", "fifo", "null", "passwd"]);
    }
}
