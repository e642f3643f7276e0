//! Progress of `load` and `save`, reported per layer, for the CLI to draw (it uses indicatif
//! when stdout is a terminal). The library never prints.

/// One step of a layer's transfer. `id` is the short (12 hex) digest of the layer, as Docker
/// shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerProgress<'a> {
    /// The layer starts; `total` is its size in bytes when known.
    Started { id: &'a str, total: Option<u64> },
    /// `done` bytes of the layer have been read or written so far.
    Advanced { id: &'a str, done: u64 },
    /// The layer is already in the store (load) and was not read: Docker's "Already exists".
    Skipped { id: &'a str },
    /// The layer is complete.
    Finished { id: &'a str },
}

/// Receives progress events; called from the thread doing the work.
pub trait Progress {
    fn layer(&self, event: LayerProgress<'_>);
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn layer(&self, _event: LayerProgress<'_>) {}
}

/// The 12-hex short form of a digest, as progress ids use it.
pub fn short_id(digest: &str) -> &str {
    let hex = crate::digest::hex_part(digest);
    &hex[..hex.len().min(12)]
}
