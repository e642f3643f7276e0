//! mydocker-image: the local image store.
//!
//! Images are kept the way Docker and OCI describe them: a content-addressed config blob whose
//! sha256 is the image id, layers unpacked once per chain id and shared between images, and a
//! tag table. The store root (the engine passes `<mydocker root>/image`) looks like this:
//!
//! ```text
//! blobs/sha256/<hex>            content-addressed blobs; image id = sha256:<hex of config blob>
//! images/sha256/<hex>           one record per image, marking which blobs are image configs
//! layers/<chain hex>/diff/      unpacked layer, read-only overlayfs lower dir
//! layers/<chain hex>/layer.json {"diff_id": "sha256:..", "parent": null, "size": 123}
//! repositories.json             {"name:tag": "sha256:<image id>"}
//! lock                          flock: shared for reads, exclusive for every mutation
//! tmp/                          staging; complete results are renamed into place
//! ```
//!
//! Every file is replaced atomically, so concurrent `mydocker` commands are safe.
//!
//! Today the store can `import` a tar, tar.gz or directory as a one-layer image, `list` images
//! and `lookup` one by name or id. The layout is the one later `load`, `save`, `commit`, `tag`
//! and `rmi` will use.

mod archive;
mod change;
mod config;
mod digest;
mod error;
mod import;
mod layer;
mod layout;
mod lock;
mod reference;
mod repositories;
mod scratch;
mod special;
mod store;
pub mod timestamp;

pub use archive::ArchiveError;
pub use change::ChangeError;
pub use error::{ImageError, Result};
pub use reference::{Reference, ReferenceError, DEFAULT_TAG};
pub use store::{Image, ImageStore, ImageSummary};

#[cfg(test)]
mod tests;
