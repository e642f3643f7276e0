//! Layer archives: unpacking a tar or tar.gz into a layer directory while hashing it, and
//! packing a directory into a tar.
//!
//! The diff id of a layer is the sha256 of its uncompressed tar stream, so the stream is hashed
//! as it is unpacked, to its very end (including padding after the end-of-archive marker).
//! Compression is detected from magic bytes, never from the file name.
//!
//! Unpacking is defensive: an entry with a `..` component is refused (not silently skipped),
//! and the `tar` crate refuses entries that would land outside the destination through a
//! symlinked parent or a hard link. Absolute paths are made relative, as `tar -C` does.
//! Directory entries are applied last, deepest first, so a read-only directory does not block
//! the creation of its children (the same order `tar::Archive::unpack` uses).

use std::error::Error as StdError;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek};
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::{Archive, Builder, EntryType, HeaderMode};
use thiserror::Error;

use crate::digest::HashingReader;
use crate::special;

/// Why a layer archive could not be read, unpacked or built.
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("cannot open source: {}", chain(.0))]
    Open(#[source] io::Error),
    #[error("source is empty")]
    Empty,
    #[error("unsupported compression {0}: only uncompressed tar and gzip are supported")]
    UnsupportedCompression(&'static str),
    #[error("reading archive: {}", root_cause(.0))]
    Read(#[source] io::Error),
    #[error("unexpected end of archive (truncated, or not a tar file)")]
    Truncated,
    #[error("archive entry {} escapes the layer root", .0.display())]
    UnsafeEntry(PathBuf),
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
}

/// What unpacking produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// `sha256:<hex>` of the uncompressed tar stream.
    pub diff_id: String,
    /// Sum of the sizes of the regular files in the layer.
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
}

/// Unpacks the tar or tar.gz at `source` into `dest` (created if missing).
pub fn unpack_layer(source: &Path, dest: &Path) -> Result<Unpacked, ArchiveError> {
    let mut file = File::open(source).map_err(ArchiveError::Open)?;
    let compression = detect_compression(&mut file)?;
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(BufReader::new(file)),
        Compression::Gzip => Box::new(MultiGzDecoder::new(BufReader::new(file))),
    };
    fs::create_dir_all(dest).map_err(|source| ArchiveError::Unpack {
        entry: PathBuf::from("."),
        source,
    })?;
    let mut archive = Archive::new(HashingReader::new(reader));
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let unpacked = unpack_entries(&mut archive, dest);
    let reader = archive.into_inner();
    let size = match unpacked {
        Ok(size) => size,
        // Ran out of data in the middle of an entry: say so rather than "failed to write".
        Err(ArchiveError::Read(_) | ArchiveError::Unpack { .. }) if reader.reached_eof() => {
            return Err(ArchiveError::Truncated)
        }
        Err(err) => return Err(err),
    };
    let (diff_id, _) = reader.finish().map_err(ArchiveError::Read)?;
    Ok(Unpacked { diff_id, size })
}

fn unpack_entries<R: Read>(archive: &mut Archive<R>, dest: &Path) -> Result<u64, ArchiveError> {
    let mut size = 0;
    let mut directories = Vec::new();
    for entry in archive.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        let path = entry.path().map_err(ArchiveError::Read)?.into_owned();
        if has_parent_component(&path) {
            return Err(ArchiveError::UnsafeEntry(path));
        }
        let kind = entry.header().entry_type();
        if kind.is_hard_link() {
            let target = entry.link_name().map_err(ArchiveError::Read)?;
            if target.is_some_and(|t| has_parent_component(&t)) {
                return Err(ArchiveError::UnsafeEntry(path));
            }
        }
        if matches!(kind, EntryType::Regular | EntryType::Continuous) {
            size += entry.size();
        }
        if kind == EntryType::Directory {
            directories.push(entry);
            continue;
        }
        unpack_entry(&mut entry, &path, dest)?;
        if special::is_special(kind) {
            // The tar crate writes these as empty regular files; turn them into the real thing.
            special::make(entry.header(), &path, dest).map_err(|source| ArchiveError::Unpack {
                entry: path,
                source,
            })?;
        }
    }
    directories.sort_by(|a, b| b.path_bytes().cmp(&a.path_bytes()));
    for mut dir in directories {
        let path = dir.path().map_err(ArchiveError::Read)?.into_owned();
        unpack_entry(&mut dir, &path, dest)?;
    }
    Ok(size)
}

fn unpack_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &Path,
    dest: &Path,
) -> Result<(), ArchiveError> {
    match entry.unpack_in(dest) {
        Ok(true) => Ok(()),
        // The tar crate declines entries it considers outside the destination.
        Ok(false) => Err(ArchiveError::UnsafeEntry(path.to_path_buf())),
        Err(source) => Err(ArchiveError::Unpack {
            entry: path.to_path_buf(),
            source,
        }),
    }
}

fn has_parent_component(path: &Path) -> bool {
    path.components().any(|c| c == Component::ParentDir)
}

/// Looks at the first bytes (<https://en.wikipedia.org/wiki/List_of_file_signatures>) and
/// rewinds the file.
fn detect_compression(file: &mut File) -> Result<Compression, ArchiveError> {
    let mut magic = [0u8; 6];
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::Read(e)),
        }
    }
    file.rewind().map_err(ArchiveError::Read)?;
    let magic = &magic[..read];
    match magic {
        [] => Err(ArchiveError::Empty),
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [b'B', b'Z', b'h', ..] => Err(ArchiveError::UnsupportedCompression("bzip2")),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00] => Err(ArchiveError::UnsupportedCompression("xz")),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Err(ArchiveError::UnsupportedCompression("zstd")),
        _ => Ok(Compression::None),
    }
}

/// Writes a tar of the contents of `dir` to `out`: entries relative to `dir`, in sorted order,
/// symlinks stored as links (never followed), modes, owners and mtimes kept. Sockets are
/// skipped, as GNU tar does; hard links are stored as separate files.
pub fn pack_directory(dir: &Path, out: &Path) -> Result<(), ArchiveError> {
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
    pack_children(&mut builder, dir, Path::new(""))?;
    builder
        .into_inner()
        .and_then(|w| w.into_inner().map_err(io::IntoInnerError::into_error))
        .map_err(pack_err(out))?;
    Ok(())
}

/// Appends the entries below `dir/rel` in sorted, depth-first order.
fn pack_children<W: io::Write>(
    builder: &mut Builder<W>,
    dir: &Path,
    rel: &Path,
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
        if file_type.is_fifo() || file_type.is_char_device() || file_type.is_block_device() {
            special::append(builder, &child, &meta).map_err(pack_err(&path))?;
            continue;
        }
        builder
            .append_path_with_name(&path, &child)
            .map_err(pack_err(&path))?;
        if file_type.is_dir() {
            pack_children(builder, dir, &child)?;
        }
    }
    Ok(())
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
    use tar::Header;

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
        assert!(matches!(err, ArchiveError::UnsafeEntry(_)), "{err}");
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
        pack_directory(&src, &tar).unwrap();
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
