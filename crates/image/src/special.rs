//! Fifos and device nodes inside layers (`mknod(2)`,
//! <https://man7.org/linux/man-pages/man2/mknod.2.html>).
//!
//! The `tar` crate neither packs them under the right name nor unpacks them as nodes (it writes
//! an empty regular file). Packing writes the header here; unpacking lets the `tar` crate
//! create (and path-check) the empty file first, then replaces it with the node and restores
//! owner, mode and mtime.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path};

use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{major, makedev, minor, mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use tar::{Builder, EntryType, Header, HeaderMode};

/// True for the entry types this module handles.
pub fn is_special(kind: EntryType) -> bool {
    matches!(kind, EntryType::Fifo | EntryType::Char | EntryType::Block)
}

/// Appends a fifo or device node found at `meta` under the archive name `name`.
pub fn append<W: io::Write>(
    builder: &mut Builder<W>,
    name: &Path,
    meta: &fs::Metadata,
) -> io::Result<()> {
    let file_type = meta.file_type();
    let kind = if file_type.is_fifo() {
        EntryType::Fifo
    } else if file_type.is_char_device() {
        EntryType::Char
    } else {
        EntryType::Block
    };
    let mut header = Header::new_gnu();
    header.set_metadata_in_mode(meta, HeaderMode::Complete);
    header.set_entry_type(kind);
    header.set_size(0);
    let rdev = meta.rdev();
    header.set_device_major(device_number(major(rdev))?)?;
    header.set_device_minor(device_number(minor(rdev))?)?;
    builder.append_data(&mut header, name, io::empty())
}

/// Replaces the placeholder file the `tar` crate unpacked for `path` with the node `header`
/// describes.
pub fn make(header: &Header, path: &Path, dest: &Path) -> io::Result<()> {
    let target = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .fold(dest.to_path_buf(), |acc, c| acc.join(c));
    let kind = match header.entry_type() {
        EntryType::Fifo => SFlag::S_IFIFO,
        EntryType::Char => SFlag::S_IFCHR,
        _ => SFlag::S_IFBLK,
    };
    let dev = makedev(
        u64::from(header.device_major()?.unwrap_or(0)),
        u64::from(header.device_minor()?.unwrap_or(0)),
    );
    let mode = header.mode()? & 0o7777;
    fs::remove_file(&target)?;
    mknod(&target, kind, Mode::from_bits_truncate(mode), dev)?;
    std::os::unix::fs::lchown(
        &target,
        Some(header.uid()? as u32),
        Some(header.gid()? as u32),
    )?;
    // After chown, which clears set-id bits; mknod applied the umask.
    fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
    let mtime = TimeSpec::new(header.mtime()? as i64, 0);
    utimensat(
        AT_FDCWD,
        &target,
        &mtime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

fn device_number(n: u64) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::other(format!("device number {n} too large")))
}
