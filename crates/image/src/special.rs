//! Fifos and device nodes inside layers (`mknod(2)`,
//! <https://man7.org/linux/man-pages/man2/mknod.2.html>).
//!
//! The `tar` crate does not pack them under the right name, so packing writes the header here.
//! Unpacking creates them in [`crate::unpack`].

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::sys::stat::{major, minor};
use tar::{Builder, EntryType, Header, HeaderMode};

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

fn device_number(n: u64) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::other(format!("device number {n} too large")))
}
