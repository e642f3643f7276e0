//! The crate's one error type, [`ImageError`], built from the per-module enums.
//!
//! Every variant names the step that failed and the object it touched. Messages are one line and
//! already include their cause, so callers print them with `{}` and need not walk `source()`.
//! The two messages users see most (`No such image: ..` and `invalid reference format`) are
//! spelled like Docker's.

use std::path::PathBuf;

use thiserror::Error;

use crate::archive::ArchiveError;
use crate::change::ChangeError;
use crate::load::LoadError;
use crate::reference::ReferenceError;

/// Result alias used throughout the crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;

/// Everything that can go wrong in the image store.
#[derive(Debug, Error)]
pub enum ImageError {
    /// The image reference given by the user does not follow Docker's grammar.
    #[error(transparent)]
    InvalidReference(#[from] ReferenceError),

    /// No image matches the name or id; the string is what was looked up.
    #[error("No such image: {0}")]
    NotFound(String),

    /// A short id prefix matches more than one image.
    #[error("image id prefix {prefix} is ambiguous: it matches {count} images")]
    AmbiguousId { prefix: String, count: usize },

    /// A `--change` instruction could not be parsed.
    #[error(transparent)]
    InvalidChange(#[from] ChangeError),

    /// Reading or unpacking the import source failed; nothing was added to the store.
    #[error("importing {}: {reason}", source_path.display())]
    Import {
        source_path: PathBuf,
        reason: ArchiveError,
    },

    /// A file system operation on the store failed.
    #[error("{step} {}: {source}", path.display())]
    Io {
        step: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A JSON document of the store could not be read or written.
    #[error("{step} {}: {source}", path.display())]
    Json {
        step: &'static str,
        path: PathBuf,
        source: serde_json::Error,
    },

    /// Taking the store lock (`<root>/lock`) failed.
    #[error("locking image store {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: nix::errno::Errno,
    },

    /// `load` refused the archive; nothing was added to the store.
    #[error("loading {source_name}: {reason}")]
    Load {
        source_name: String,
        reason: LoadError,
    },

    /// Packing or unpacking a container's upper dir failed; nothing was added to the store.
    #[error("committing {}: {reason}", upper.display())]
    Commit {
        upper: PathBuf,
        reason: ArchiveError,
    },

    /// A layer has no stored blob (it was imported before blobs were kept), so it cannot be
    /// saved with its diff id.
    #[error("layer {chain_id} has no stored blob; import or load the image again to save it")]
    LayerBlobMissing { chain_id: String },

    /// `rmi name:tag` of the last tag of an image a container uses, without force.
    #[error("conflict: unable to remove repository reference \"{reference}\" (must force) - a container is using its referenced image {short_id}")]
    ReferenceInUse { reference: String, short_id: String },

    /// `rmi <id>` of an image a container uses, without force.
    #[error("conflict: unable to delete {short_id} (must be forced) - image is being used by a container")]
    ImageInUse { short_id: String },

    /// `rmi <id>` of an image with several tags, without force.
    #[error("conflict: unable to delete {short_id} (must be forced) - image is referenced in multiple repositories")]
    MultipleReferences { short_id: String },

    /// An image's config names a layer that is not in the store.
    #[error("image {image} needs layer {chain_id}, which is missing from the store")]
    MissingLayer { image: String, chain_id: String },
}

impl ImageError {
    /// Wraps an I/O error with the step and the path it touched.
    pub(crate) fn io(step: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io {
            step,
            path: path.into(),
            source,
        }
    }

    /// Wraps a JSON error with the step and the document's path.
    pub(crate) fn json(
        step: &'static str,
        path: impl Into<PathBuf>,
        source: serde_json::Error,
    ) -> Self {
        ImageError::Json {
            step,
            path: path.into(),
            source,
        }
    }
}
