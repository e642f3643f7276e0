//! Writing a layer tar into a directory without ever leaving it.
//!
//! Every entry is created relative to a directory file descriptor. Parent directories are
//! walked one component at a time with `openat(O_DIRECTORY | O_NOFOLLOW)`, so a symlink inside
//! the destination is never followed, not even one that points back inside: an archive with
//! `a -> /etc` followed by `a/passwd` is refused at `a/passwd`. Names with `..` are refused;
//! absolute names are refused or made relative, as the caller chooses ([`AbsolutePaths`]).
//! Hard links must name an entry already unpacked in the same layer, resolved the same way.
//!
//! OCI whiteouts (<https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts>)
//! are turned into their overlayfs form, because each layer is its own lower dir: `.wh.NAME`
//! becomes a 0/0 character device `NAME`, and `.wh..wh..opq` sets `trusted.overlay.opaque=y`
//! on its directory (see [`crate::whiteout`]).
//!
//! Device nodes: images may carry them (Docker allows them and some base images have
//! `/dev/null` and friends in a layer), so they are created when [`UnpackOptions::devices`]
//! is true. The store sets it only when running as root; otherwise such an archive is refused
//! with a clear error instead of failing half way in `mknod`.
//!
//! Directories get their owner, mode and mtime last, deepest first, so a read-only directory
//! does not block its children and its mtime is not changed by them.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, futimens, makedev, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use tar::{Archive, EntryType, Header};

use crate::archive::{ArchiveError, UnsafeReason};
use crate::whiteout::{self, OPAQUE_MARKER, WHITEOUT_PREFIX};

/// What to do with an entry whose name starts with `/`. Every archive refuses them today
/// (`docker import` would make them relative; issue 4 asks for a refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbsolutePaths {
    /// Refuse the archive.
    Refuse,
}

/// How strict unpacking is.
#[derive(Debug, Clone, Copy)]
pub struct UnpackOptions {
    pub absolute_paths: AbsolutePaths,
    /// Create block and character devices (other than whiteouts).
    pub devices: bool,
    /// Turn OCI whiteouts into overlayfs whiteouts (true for image layers).
    pub whiteouts: bool,
}

impl UnpackOptions {
    /// Options for a layer of an image: whiteouts converted, devices only as root.
    pub fn layer(absolute_paths: AbsolutePaths) -> UnpackOptions {
        UnpackOptions {
            absolute_paths,
            devices: nix::unistd::geteuid().is_root(),
            whiteouts: true,
        }
    }
}

/// A directory whose metadata is applied at the end.
struct PendingDir {
    path: Vec<Vec<u8>>,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
}

/// Unpacks every entry of `archive` into the existing directory `dest`; returns the bytes of
/// regular files written.
pub fn unpack_entries<R: Read>(
    archive: &mut Archive<R>,
    dest: &Path,
    options: &UnpackOptions,
) -> Result<u64, ArchiveError> {
    let root = open_dir(dest).map_err(|source| ArchiveError::Unpack {
        entry: PathBuf::from("."),
        source,
    })?;
    let mut unpacker = Unpacker {
        root,
        options: *options,
        chown: nix::unistd::geteuid().is_root(),
        cached: None,
        dirs: Vec::new(),
        opaque: Vec::new(),
        size: 0,
    };
    for entry in archive.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        unpacker.entry(&mut entry)?;
    }
    unpacker.finish()?;
    Ok(unpacker.size)
}

struct Unpacker {
    root: OwnedFd,
    options: UnpackOptions,
    chown: bool,
    /// The parent directory of the previous entry: most entries share it.
    cached: Option<(Vec<Vec<u8>>, OwnedFd)>,
    dirs: Vec<PendingDir>,
    opaque: Vec<Vec<Vec<u8>>>,
    size: u64,
}

impl Unpacker {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), ArchiveError> {
        let raw = entry.path_bytes().into_owned();
        let display = PathBuf::from(OsStr::from_bytes(&raw));
        let parts = self.split(&raw, &display)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let unpack_err = |source: io::Error| ArchiveError::Unpack {
            entry: display.clone(),
            source,
        };

        let Some((name, parent)) = parts.split_last() else {
            // The root itself (`./`): its metadata applies to the layer directory.
            if kind == EntryType::Directory {
                self.dirs
                    .push(pending_dir(Vec::new(), &header).map_err(unpack_err)?);
            }
            return Ok(());
        };
        if self.options.whiteouts && name.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            let dir = self.parent(parent, &display)?;
            if name.as_slice() == OPAQUE_MARKER.as_bytes() {
                self.opaque.push(parent.to_vec());
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
                if hidden.starts_with(WHITEOUT_PREFIX.as_bytes()) || hidden.is_empty() {
                    // Other AUFS metadata (`.wh..wh.plnk`, ...): not content, not needed.
                    return Ok(());
                }
                remove_existing(&dir, hidden).map_err(unpack_err)?;
                whiteout::make_overlay_whiteout(&dir, OsStr::from_bytes(hidden))
                    .map_err(unpack_err)?;
            }
            return Ok(());
        }

        let dir = self.parent(parent, &display)?;
        let name = OsStr::from_bytes(name);
        match kind {
            EntryType::Directory => {
                match mkdirat(&dir, name, Mode::from_bits_truncate(0o700)) {
                    Ok(()) => {}
                    Err(Errno::EEXIST) if is_dir_at(&dir, name) => {}
                    Err(Errno::EEXIST) => {
                        remove_existing(&dir, name.as_bytes()).map_err(unpack_err)?;
                        mkdirat(&dir, name, Mode::from_bits_truncate(0o700))
                            .map_err(|e| unpack_err(e.into()))?;
                    }
                    Err(e) => return Err(unpack_err(e.into())),
                }
                self.dirs
                    .push(pending_dir(parts.clone(), &header).map_err(unpack_err)?);
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let create = || {
                    openat(
                        &dir,
                        name,
                        OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_WRONLY
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o600),
                    )
                };
                // O_EXCL never follows or reuses what is there; replace it only if needed.
                let fd = match create() {
                    Err(Errno::EEXIST) => {
                        remove_existing(&dir, name.as_bytes()).map_err(unpack_err)?;
                        create()
                    }
                    other => other,
                }
                .map_err(|e| unpack_err(e.into()))?;
                let mut file = File::from(fd);
                let written = io::copy(entry, &mut file).map_err(|e| {
                    // The tar crate reports a short entry as a generic I/O error.
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        ArchiveError::Truncated
                    } else {
                        ArchiveError::Read(e)
                    }
                })?;
                self.size += written;
                self.set_metadata_fd(file.as_fd(), &header)
                    .map_err(unpack_err)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| unpack_err(io::Error::other("symlink has no target")))?;
                remove_existing(&dir, name.as_bytes()).map_err(unpack_err)?;
                symlinkat(OsStr::from_bytes(&target), &dir, name)
                    .map_err(|e| unpack_err(e.into()))?;
                self.set_metadata_at(&dir, name, &header, false)
                    .map_err(unpack_err)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unpack_err(io::Error::other("hard link has no target")))?;
                let target_display = PathBuf::from(OsStr::from_bytes(&target));
                let target_parts = self.split(&target, &target_display).map_err(|_| {
                    ArchiveError::UnsafeEntry {
                        entry: display.clone(),
                        reason: UnsafeReason::LinkOutside,
                    }
                })?;
                let Some((target_name, target_parent)) = target_parts.split_last() else {
                    return Err(ArchiveError::UnsafeEntry {
                        entry: display,
                        reason: UnsafeReason::LinkOutside,
                    });
                };
                let target_dir =
                    self.existing_dir(target_parent)
                        .map_err(|_| ArchiveError::UnsafeEntry {
                            entry: display.clone(),
                            reason: UnsafeReason::LinkOutside,
                        })?;
                remove_existing(&dir, name.as_bytes()).map_err(unpack_err)?;
                linkat(
                    &target_dir,
                    OsStr::from_bytes(target_name),
                    &dir,
                    name,
                    AtFlags::empty(),
                )
                .map_err(|e| match e {
                    Errno::ENOENT => ArchiveError::UnsafeEntry {
                        entry: display.clone(),
                        reason: UnsafeReason::LinkOutside,
                    },
                    e => unpack_err(e.into()),
                })?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let kind_flag = match kind {
                    EntryType::Char => SFlag::S_IFCHR,
                    EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                if kind_flag != SFlag::S_IFIFO && !self.options.devices {
                    return Err(ArchiveError::UnsafeEntry {
                        entry: display,
                        reason: UnsafeReason::Device,
                    });
                }
                let dev = makedev(
                    u64::from(header.device_major().ok().flatten().unwrap_or(0)),
                    u64::from(header.device_minor().ok().flatten().unwrap_or(0)),
                );
                remove_existing(&dir, name.as_bytes()).map_err(unpack_err)?;
                mknodat(&dir, name, kind_flag, Mode::from_bits_truncate(0o600), dev)
                    .map_err(|e| unpack_err(e.into()))?;
                self.set_metadata_at(&dir, name, &header, true)
                    .map_err(unpack_err)?;
            }
            // pax and GNU long-name headers are consumed by the tar crate; nothing else
            // (sockets do not exist in tar, XGlobalHeader carries no file) is content.
            _ => {}
        }
        Ok(())
    }

    /// Splits an entry name into its normal components, refusing `..` and (if asked)
    /// absolute names.
    fn split(&self, raw: &[u8], display: &Path) -> Result<Vec<Vec<u8>>, ArchiveError> {
        let mut parts = Vec::new();
        for part in raw.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    return Err(ArchiveError::UnsafeEntry {
                        entry: display.to_path_buf(),
                        reason: UnsafeReason::ParentDir,
                    })
                }
                part => parts.push(part.to_vec()),
            }
        }
        // `/` alone is the layer root (umoci writes it); `/etc/passwd` is refused when asked.
        let absolute = raw.starts_with(b"/") && !parts.is_empty();
        if absolute && self.options.absolute_paths == AbsolutePaths::Refuse {
            return Err(ArchiveError::UnsafeEntry {
                entry: display.to_path_buf(),
                reason: UnsafeReason::Absolute,
            });
        }
        Ok(parts)
    }

    /// Opens (creating missing directories) the parent `parts` of an entry.
    fn parent(&mut self, parts: &[Vec<u8>], display: &Path) -> Result<OwnedFd, ArchiveError> {
        if let Some((cached, fd)) = &self.cached {
            if cached.as_slice() == parts {
                return fd.try_clone().map_err(ArchiveError::Read);
            }
        }
        let mut current = self.root.try_clone().map_err(ArchiveError::Read)?;
        for (depth, part) in parts.iter().enumerate() {
            let name = OsStr::from_bytes(part);
            current = match open_dir_at(&current, name) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    mkdirat(&current, name, Mode::from_bits_truncate(0o755)).map_err(|e| {
                        ArchiveError::Unpack {
                            entry: display.to_path_buf(),
                            source: e.into(),
                        }
                    })?;
                    open_dir_at(&current, name).map_err(|e| ArchiveError::Unpack {
                        entry: display.to_path_buf(),
                        source: e.into(),
                    })?
                }
                Err(Errno::ELOOP | Errno::ENOTDIR) => {
                    let through: PathBuf = parts[..=depth]
                        .iter()
                        .map(|p| OsStr::from_bytes(p))
                        .collect();
                    return Err(ArchiveError::UnsafeEntry {
                        entry: display.to_path_buf(),
                        reason: UnsafeReason::ThroughLink(through),
                    });
                }
                Err(e) => {
                    return Err(ArchiveError::Unpack {
                        entry: display.to_path_buf(),
                        source: e.into(),
                    })
                }
            };
        }
        let keep = current.try_clone().map_err(ArchiveError::Read)?;
        self.cached = Some((parts.to_vec(), keep));
        Ok(current)
    }

    /// Opens an existing directory without following symlinks and without creating anything.
    fn existing_dir(&self, parts: &[Vec<u8>]) -> nix::Result<OwnedFd> {
        let mut current = self.root.try_clone().map_err(|_| Errno::EBADF)?;
        for part in parts {
            current = open_dir_at(&current, OsStr::from_bytes(part))?;
        }
        Ok(current)
    }

    fn set_metadata_fd(&self, fd: std::os::fd::BorrowedFd<'_>, header: &Header) -> io::Result<()> {
        if self.chown {
            fchown(fd, Some(uid(header.uid()?)?), Some(gid(header.gid()?)?))?;
        }
        // After chown, which clears set-id bits.
        fchmod(fd, Mode::from_bits_truncate(header.mode()? & 0o7777))?;
        let mtime = TimeSpec::new(mtime_secs(header), 0);
        futimens(fd, &mtime, &mtime)?;
        Ok(())
    }

    /// Owner, mode (unless a symlink) and mtime of `name` in `dir`, never following it.
    fn set_metadata_at(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        header: &Header,
        mode: bool,
    ) -> io::Result<()> {
        if self.chown {
            fchownat(
                dir,
                name,
                Some(uid(header.uid()?)?),
                Some(gid(header.gid()?)?),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
        }
        if mode {
            // Only called right after mknodat created a non-symlink here.
            fchmodat(
                dir,
                name,
                Mode::from_bits_truncate(header.mode()? & 0o7777),
                FchmodatFlags::FollowSymlink,
            )?;
        }
        let mtime = TimeSpec::new(mtime_secs(header), 0);
        utimensat(dir, name, &mtime, &mtime, UtimensatFlags::NoFollowSymlink)?;
        Ok(())
    }

    /// Applies directory metadata, deepest first, then the opaque markers.
    fn finish(&mut self) -> Result<(), ArchiveError> {
        self.cached = None;
        let dirs = std::mem::take(&mut self.dirs);
        let mut dirs = dirs;
        dirs.sort_by(|a, b| b.path.cmp(&a.path));
        for dir in &dirs {
            let display: PathBuf = dir.path.iter().map(|p| OsStr::from_bytes(p)).collect();
            let err = |source: io::Error| ArchiveError::Unpack {
                entry: display.clone(),
                source,
            };
            let fd = self.existing_dir(&dir.path).map_err(|e| err(e.into()))?;
            if self.chown {
                fchown(
                    &fd,
                    Some(uid(dir.uid).map_err(err)?),
                    Some(gid(dir.gid).map_err(err)?),
                )
                .map_err(|e| err(e.into()))?;
            }
            fchmod(&fd, Mode::from_bits_truncate(dir.mode & 0o7777)).map_err(|e| err(e.into()))?;
            let mtime = TimeSpec::new(i64::try_from(dir.mtime).unwrap_or(0), 0);
            futimens(&fd, &mtime, &mtime).map_err(|e| err(e.into()))?;
        }
        for parts in std::mem::take(&mut self.opaque) {
            let display: PathBuf = parts.iter().map(|p| OsStr::from_bytes(p)).collect();
            let fd = self
                .existing_dir(&parts)
                .map_err(|e| ArchiveError::Unpack {
                    entry: display.clone(),
                    source: e.into(),
                })?;
            whiteout::set_opaque(&fd).map_err(|source| ArchiveError::Unpack {
                entry: display,
                source,
            })?;
        }
        Ok(())
    }
}

fn pending_dir(path: Vec<Vec<u8>>, header: &Header) -> io::Result<PendingDir> {
    Ok(PendingDir {
        path,
        mode: header.mode()?,
        uid: header.uid()?,
        gid: header.gid()?,
        mtime: header.mtime().unwrap_or(0),
    })
}

fn mtime_secs(header: &Header) -> i64 {
    header
        .mtime()
        .ok()
        .and_then(|t| i64::try_from(t).ok())
        .unwrap_or(0)
}

fn uid(n: u64) -> io::Result<Uid> {
    u32::try_from(n)
        .map(Uid::from_raw)
        .map_err(|_| io::Error::other(format!("uid {n} out of range")))
}

fn gid(n: u64) -> io::Result<Gid> {
    u32::try_from(n)
        .map(Gid::from_raw)
        .map_err(|_| io::Error::other(format!("gid {n} out of range")))
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::open(
        path,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

fn open_dir_at(dir: &OwnedFd, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn is_dir_at(dir: &OwnedFd, name: &OsStr) -> bool {
    open_dir_at(dir, name).is_ok()
}

/// Makes room for a new entry: removes a file, link or node of that name, or a whole
/// directory tree (a later entry replaces an earlier one, as `tar` does).
fn remove_existing(dir: &OwnedFd, name: &[u8]) -> io::Result<()> {
    let name = OsStr::from_bytes(name);
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(Errno::EISDIR) => {
            let sub = open_dir_at(dir, name)?;
            remove_tree(&sub)?;
            unlinkat(dir, name, UnlinkatFlags::RemoveDir)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes everything inside the directory `dir`, never following symlinks.
fn remove_tree(dir: &OwnedFd) -> io::Result<()> {
    let names: Vec<Vec<u8>> = {
        let read = nix::dir::Dir::from_fd(dir.try_clone()?)?;
        let mut names = Vec::new();
        let mut read = read;
        for entry in read.iter() {
            let name = entry?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                names.push(name);
            }
        }
        names
    };
    for name in names {
        remove_existing(dir, &name)?;
    }
    Ok(())
}
