//! What `load` reads from: an image archive (a tar, indexed in place) or a directory (an OCI
//! layout, or an unpacked docker-archive).
//!
//! An archive is never extracted. [`TarIndex`] scans the tar headers once (seeking over the
//! data) and records where each member's bytes are; members are then read straight from the
//! file, so a layer blob is read exactly once, while it is hashed and unpacked. Member names
//! are normalized lexically (`./a//b` is `a/b`); symlinks and hard links between members, which
//! `docker save` writes for repeated layers, are followed inside the archive only. Nothing
//! outside the archive or the directory can be named: a member path that leaves it simply does
//! not exist.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use tar::{Archive, EntryType};

use crate::load::LoadError;

/// Where an image archive's members come from.
pub enum Input {
    Tar(TarIndex),
    Dir(PathBuf),
}

/// Member `name` of an archive: its bytes and length.
pub struct Member<'a> {
    pub reader: Box<dyn Read + 'a>,
    pub size: u64,
}

impl Input {
    /// True when the member exists (after following links).
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Input::Tar(index) => index.resolve(name).is_some(),
            Input::Dir(root) => dir_path(root, name).is_some_and(|p| p.is_file()),
        }
    }

    /// Opens member `name`; a missing member is [`LoadError::MissingBlob`].
    pub fn open(&self, name: &str) -> Result<Member<'_>, LoadError> {
        let missing = || LoadError::MissingBlob(name.to_owned());
        match self {
            Input::Tar(index) => {
                let (offset, size) = index.resolve(name).ok_or_else(missing)?;
                Ok(Member {
                    reader: Box::new(Section {
                        file: &index.file,
                        pos: offset,
                        end: offset + size,
                    }),
                    size,
                })
            }
            Input::Dir(root) => {
                let path = dir_path(root, name).ok_or_else(missing)?;
                let file = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => missing(),
                    _ => LoadError::Read {
                        member: name.to_owned(),
                        source: e,
                    },
                })?;
                let size = file
                    .metadata()
                    .map_err(|source| LoadError::Read {
                        member: name.to_owned(),
                        source,
                    })?
                    .len();
                Ok(Member {
                    reader: Box::new(io::BufReader::with_capacity(1 << 20, file)),
                    size,
                })
            }
        }
    }

    /// Reads a small member (a JSON document) whole, refusing one larger than `limit`.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, LoadError> {
        let member = self.open(name)?;
        if member.size > limit {
            return Err(LoadError::TooLarge {
                member: name.to_owned(),
                size: member.size,
            });
        }
        let mut data = Vec::with_capacity(usize::try_from(member.size).unwrap_or(0));
        member
            .reader
            .take(limit)
            .read_to_end(&mut data)
            .map_err(|source| LoadError::Read {
                member: name.to_owned(),
                source,
            })?;
        if (data.len() as u64) < member.size {
            return Err(LoadError::Truncated);
        }
        Ok(data)
    }
}

/// A path inside the directory, refusing names that leave it.
fn dir_path(root: &Path, name: &str) -> Option<PathBuf> {
    normalize(name).map(|n| root.join(n))
}

/// The members of an uncompressed tar file and where their data is.
pub struct TarIndex {
    file: File,
    members: HashMap<String, Entry>,
}

enum Entry {
    Data {
        offset: u64,
        size: u64,
    },
    /// A symlink or hard link to another member (normalized name).
    Link(String),
}

impl TarIndex {
    /// Scans the headers of the tar `file`.
    pub fn build(file: File) -> Result<TarIndex, LoadError> {
        let len = file
            .metadata()
            .map_err(|source| LoadError::Read {
                member: String::new(),
                source,
            })?
            .len();
        let mut members = HashMap::new();
        {
            let mut archive = Archive::new(&file);
            let entries = archive.entries_with_seek().map_err(LoadError::Index)?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        LoadError::Truncated
                    } else {
                        LoadError::Index(e)
                    }
                })?;
                let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                let Some(name) = normalize(&raw) else {
                    continue;
                };
                let kind = entry.header().entry_type();
                let link = || {
                    entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned())
                };
                match kind {
                    EntryType::Regular | EntryType::Continuous => {
                        let offset = entry.raw_file_position();
                        let size = entry.size();
                        if offset.saturating_add(size) > len {
                            return Err(LoadError::Truncated);
                        }
                        members.insert(name, Entry::Data { offset, size });
                    }
                    EntryType::Symlink => {
                        let target = link().and_then(|t| {
                            if t.starts_with('/') {
                                None
                            } else {
                                let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                                normalize(&format!("{dir}/{t}"))
                            }
                        });
                        if let Some(target) = target {
                            members.insert(name, Entry::Link(target));
                        }
                    }
                    EntryType::Link => {
                        if let Some(target) = link().and_then(|t| normalize(&t)) {
                            members.insert(name, Entry::Link(target));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(TarIndex { file, members })
    }

    /// Offset and size of member `name`, following at most 16 links.
    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalize(name)?;
        for _ in 0..16 {
            match self.members.get(&name)? {
                Entry::Data { offset, size } => return Some((*offset, *size)),
                Entry::Link(target) => name = target.clone(),
            }
        }
        None
    }
}

/// `a/./b//c` -> `a/b/c`, `/a` -> `a`; `None` for the root itself and for names that
/// leave it (`..` past it).
pub fn normalize(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// A window of a file, read with `pread` so several can share the file.
struct Section<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Opens `path` for loading: a directory as is, a tar file indexed in place. A compressed
/// archive (`docker save | gzip`) is first decompressed into `spill`.
pub fn open_path(path: &Path, spill: &Path) -> Result<Input, LoadError> {
    let meta = fs::metadata(path).map_err(LoadError::Open)?;
    if meta.is_dir() {
        return Ok(Input::Dir(path.to_path_buf()));
    }
    let mut file = File::open(path).map_err(LoadError::Open)?;
    let mut magic = [0u8; 6];
    let n = file.read_at(&mut magic, 0).map_err(LoadError::Open)?;
    match crate::archive::detect_compression(&magic[..n]) {
        Ok(crate::archive::Compression::None) => TarIndex::build(file).map(Input::Tar),
        Ok(_) => open_reader(&mut file, spill),
        Err(e) => Err(LoadError::Archive(e)),
    }
}

/// Copies (decompressing if needed) a stream into `spill`, then indexes it.
pub fn open_reader(reader: &mut dyn Read, spill: &Path) -> Result<Input, LoadError> {
    let mut stream = crate::archive::decompressed(reader).map_err(LoadError::Archive)?;
    let mut out = File::create(spill).map_err(|source| LoadError::Spill {
        path: spill.to_path_buf(),
        source,
    })?;
    io::copy(&mut stream, &mut out).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => LoadError::Truncated,
        _ => LoadError::Read {
            member: String::new(),
            source: e,
        },
    })?;
    let file = File::open(spill).map_err(|source| LoadError::Spill {
        path: spill.to_path_buf(),
        source,
    })?;
    TarIndex::build(file).map(Input::Tar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_stays_inside() {
        assert_eq!(normalize("./a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(normalize("/abs/x").as_deref(), Some("abs/x"));
    }
}
