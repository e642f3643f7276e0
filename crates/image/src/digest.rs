//! Content digests: `sha256:<hex>` strings, a reader that hashes what passes through it, and
//! OCI chain ids.
//!
//! A layer's diff id is the sha256 of its uncompressed tar stream. Its chain id names the layer
//! together with everything below it (OCI image spec, "Layer ChainID"):
//! `chain(L0) = diff(L0)` and `chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln))`.
//! See <https://github.com/opencontainers/image-spec/blob/main/config.md#layer-chainid>.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

/// The algorithm prefix of every digest this store writes.
pub const SHA256_PREFIX: &str = "sha256:";

/// Returns `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("{SHA256_PREFIX}{}", hex::encode(Sha256::digest(data)))
}

/// The hex part of a `sha256:<hex>` digest this store produced (the input if it has no prefix).
pub fn hex_part(digest: &str) -> &str {
    digest.strip_prefix(SHA256_PREFIX).unwrap_or(digest)
}

/// True when `s` is non-empty and only lower-case hex digits.
pub fn is_lower_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Chain ids of a stack of layers given their diff ids, lowest first.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chain: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match chain.last() {
            None => diff_id.clone(),
            Some(parent) => sha256_digest(format!("{parent} {diff_id}").as_bytes()),
        };
        chain.push(next);
    }
    chain
}

/// A reader that hashes every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    eof: bool,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            eof: false,
        }
    }

    /// True once the underlying reader has reported end of stream.
    pub fn reached_eof(&self) -> bool {
        self.eof
    }

    /// Reads the rest of the stream (e.g. tar padding after the end marker), then returns the
    /// digest of everything read and its length.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        let hex = hex::encode(self.hasher.finalize());
        Ok((format!("{SHA256_PREFIX}{hex}"), self.bytes))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_of_first_layer_is_its_diff_id() {
        let a = sha256_digest(b"a");
        let b = sha256_digest(b"b");
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        assert_eq!(chain[1], sha256_digest(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn hashing_reader_hashes_whole_stream() {
        let data = b"hello world".to_vec();
        let mut reader = HashingReader::new(&data[..]);
        let mut first = [0u8; 5];
        reader.read_exact(&mut first).unwrap();
        let (digest, len) = reader.finish().unwrap();
        assert_eq!(digest, sha256_digest(&data));
        assert_eq!(len, data.len() as u64);
    }
}
