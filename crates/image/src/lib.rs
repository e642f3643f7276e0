//! mydocker-image: the local image store.
//!
//! Images are kept the way Docker and OCI describe them: a content-addressed config blob whose
//! sha256 is the image id, layers unpacked once per chain id and shared between images, and a
//! tag table. The store root (the engine passes `<mydocker root>/image`) looks like this:
//!
//! ```text
//! blobs/sha256/<hex>            content-addressed blobs: image configs (image id = sha256 of
//!                               the config), manifests, layer blobs as they arrived
//! images/sha256/<hex>           one record per image: marks the config blob as an image and
//!                               names the manifest it came with
//! layers/<chain hex>/diff/      unpacked layer in overlayfs form, a read-only lower dir
//! layers/<chain hex>/layer.json {"diff_id", "parent", "size", "tar_size", "blob"}
//! l/<16 hex>                    -> ../layers/<chain hex>/diff (short lower dirs, see `links`)
//! repositories.json             {"name:tag": "sha256:<image id>"}
//! lock                          flock: shared for reads, exclusive for every mutation
//! tmp/                          staging; complete results are renamed into place
//! ```
//!
//! Every file is replaced atomically and every operation stages in `tmp/` before it publishes
//! under the lock, so concurrent `mydocker` commands are safe and a killed one leaves no
//! partial image.
//!
//! What [`ImageStore`] does, one method per command:
//! - `import` (tar, tar.gz, tar.zst or directory as a one-layer image), `list`, `lookup`;
//! - `load_path` / `load_reader`: docker-archive, OCI archive or OCI layout, every digest
//!   checked on the way in, shared layers unpacked once (errors: [`LoadError`]);
//! - `save`: docker-archive or OCI archive ([`SaveFormat`]), ids and diff ids preserved;
//! - `commit`: a container's overlayfs upper dir as a new layer ([`CommitRequest`]);
//! - `tag`, `remove` (Docker's `rmi` rules), `prune`, `gc`, `history`, `inspect`;
//! - `lower_dirs`: short relative overlayfs lower dirs for deep images.
//!
//! Long operations report per-layer progress through [`Progress`]; the library never prints.
//! Layer tars are unpacked without ever following a symlink inside the layer; OCI whiteouts
//! become overlayfs whiteouts and back ([`whiteout`] explains both forms).

mod archive;
mod change;
mod commit;
mod config;
mod digest;
mod error;
mod import;
mod input;
mod inspect;
mod layer;
mod layout;
mod links;
mod load;
mod lock;
pub mod progress;
mod publish;
mod record;
mod reference;
mod remove;
mod repositories;
mod save;
mod scratch;
mod special;
mod store;
pub mod timestamp;
mod unpack;
pub mod whiteout;

pub use archive::{ArchiveError, UnsafeReason};
pub use change::ChangeError;
pub use commit::CommitRequest;
pub use error::{ImageError, Result};
pub use inspect::HistoryEntry;
pub use load::{LoadError, Loaded};
pub use progress::{LayerProgress, NoProgress, Progress};
pub use reference::{Reference, ReferenceError, DEFAULT_TAG};
pub use remove::{PruneReport, RemoveEvent};
pub use save::SaveFormat;
pub use store::{Image, ImageStore, ImageSummary, LowerDirs};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_archive;
